import { TRPCClientError } from '@trpc/client';
import { describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer({ TRAINYARD_CANCEL_GRACE_SECONDS: '1' });

describe('jobs API', () => {
  it('streams live status, progress and metrics over SSE until the job ends', async () => {
    const job = await t.client.jobs.create.mutate({
      name: 'live',
      trainer: { kind: 'builtin', name: 'example' },
      hyperparameters: { epochs: 4, stepDelayMs: 150 },
    });
    const events: Array<{ type: string; status?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = t.client.jobs.events.subscribe(
        { id: job.id },
        {
          onData: (event) => {
            events.push(event);
            if (event.type === 'status' && ['succeeded', 'failed', 'cancelled'].includes(event.status)) {
              subscription.unsubscribe();
              resolve();
            }
          },
          onError: reject,
        },
      );
    });
    expect(events.filter((e) => e.type === 'status').map((e) => e.status)).toEqual(expect.arrayContaining(['validating', 'succeeded']));
    expect(events.filter((e) => e.type === 'metric').length).toBeGreaterThanOrEqual(6);
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(3);

    const metrics = await t.client.jobs.metrics.query({ jobId: job.id, names: ['val_accuracy'], maxPoints: 100 });
    expect(metrics['val_accuracy']?.step).toEqual([1, 2, 3, 4]);
    const logs = await t.client.jobs.logs.query({ id: job.id, stream: 'stdout', tail: 1 });
    expect(logs.text).toBe('done\n');
    expect((await t.client.jobs.list.query({ status: 'succeeded' })).items.map((j) => j.id)).toContain(job.id);
  });

  it('times a job out, and rejects cancel of a finished job and bad input clearly', async () => {
    const slow = await t.client.jobs.create.mutate({
      name: 'slow',
      trainer: { kind: 'builtin', name: 'example' },
      hyperparameters: { epochs: 100, stepDelayMs: 1_000 },
      resources: { timeoutSeconds: 1 },
    });
    const job = await vi.waitFor(
      async () => {
        const current = await t.client.jobs.get.query({ id: slow.id });
        if (!['failed', 'succeeded'].includes(current.status)) throw new Error(`job still ${current.status}`);
        return current;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(job).toMatchObject({ status: 'failed', error: 'timed out after 1 s' });
    const cancel = await t.client.jobs.cancel.mutate({ id: slow.id }).catch((e: unknown) => e as TRPCClientError<never>);
    expect((cancel as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((cancel as TRPCClientError<never>).message).toBe('A failed job cannot become cancelled');
    const bad = await t.client.jobs.create.mutate({ name: 'x', trainer: { kind: 'command', command: [] } }).catch((e: unknown) => e as TRPCClientError<never>);
    expect((bad as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST' });
    const retried = await t.client.jobs.retry.mutate({ id: slow.id });
    expect(retried).toMatchObject({ status: 'queued', maxAttempts: 2 });
    await t.client.jobs.cancel.mutate({ id: slow.id }).catch(() => undefined);
  });

  it('refuses to retry a running job (it would be claimed again while its trainer runs)', async () => {
    const job = await t.client.jobs.create.mutate({
      name: 'still running',
      trainer: { kind: 'command', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
    });
    const running = await vi.waitFor(
      async () => {
        const current = await t.client.jobs.get.query({ id: job.id });
        if (current.status !== 'running') throw new Error('not running yet');
        return current;
      },
      { timeout: 10_000, interval: 50 },
    );
    // The lease's holder is shown; its fencing token is never sent (whoever held it could complete the job).
    expect(running.leaseOwner).toEqual(expect.any(String));
    expect(running).not.toHaveProperty('leaseToken');
    expect((await t.client.jobs.list.query({ status: 'running' })).items.find((j) => j.id === job.id)).not.toHaveProperty('leaseToken');
    const retry = await t.client.jobs.retry.mutate({ id: job.id }).catch((e: unknown) => e as TRPCClientError<never>);
    expect((retry as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((retry as TRPCClientError<never>).message).toBe('A running job cannot become queued');
    expect((await t.client.jobs.get.query({ id: job.id })).status).toBe('running');
    await t.client.jobs.cancel.mutate({ id: job.id });
  });
});
