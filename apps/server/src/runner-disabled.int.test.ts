import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();

describe('a server without TRAINYARD_RUNNER_LOCAL=on', () => {
  it('refuses a runner-local job and says how to enable it; nothing is queued', async () => {
    const error = await t.client.jobs.create
      .mutate({ name: 'nowhere', executor: 'runner-local', trainer: { kind: 'command', command: ['/bin/true'] } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((error as Error).message).toMatch(/runner-local executor is not enabled on this server: start it with TRAINYARD_RUNNER_LOCAL=on/);
    expect((await t.client.jobs.list.query({})).items).toHaveLength(0);
  });
});
