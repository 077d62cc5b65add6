import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();

describe('a server without TRAINYARD_RUNNER_LOCAL=on or a cloud executor', () => {
  it('refuses a runner-local job and says how to enable it; nothing is queued', async () => {
    const error = await t.client.jobs.create
      .mutate({ name: 'nowhere', executor: 'runner-local', trainer: { kind: 'command', command: ['/bin/true'] } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((error as Error).message).toMatch(/runner-local executor is not enabled on this server: start it with TRAINYARD_RUNNER_LOCAL=on/);
    expect((await t.client.jobs.list.query({})).items).toHaveLength(0);
  });

  it('refuses kubernetes and sagemaker jobs on a server without them, and placement keys meant for another executor', async () => {
    for (const executor of ['kubernetes', 'sagemaker'] as const) {
      const error = await t.client.jobs.create
        .mutate({ name: 'nowhere', executor, trainer: { kind: 'command', command: ['python', 'train.py'] } })
        .catch((e: unknown) => e);
      expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
      expect((error as Error).message).toMatch(new RegExp(`The ${executor} executor is not enabled on this server`));
    }
    const misplaced = await t.client.jobs.create
      .mutate({ name: 'image here', trainer: { kind: 'builtin', name: 'example' }, resources: { image: 'ghcr.io/lab/trainer:1' } })
      .catch((e: unknown) => e);
    expect((misplaced as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST' });
    expect((misplaced as Error).message).toBe("resources.image applies to kubernetes and sagemaker jobs only; this job's executor is local");
    expect((await t.client.jobs.list.query({})).items).toHaveLength(0);
  });
});
