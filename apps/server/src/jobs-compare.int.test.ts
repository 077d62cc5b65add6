import { TRPCClientError } from '@trpc/client';
import { newId } from '@trainyard/core';
import { describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();

/** The call's failure (it must fail). */
const refusal = async (call: Promise<unknown>): Promise<TRPCClientError<never>> => {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error as TRPCClientError<never>,
  );
  if (!outcome) throw new Error('the call succeeded');
  return outcome;
};

const runExample = async (epochs: number) => {
  const job = await t.client.jobs.create.mutate({ name: `example-${epochs}`, trainer: { kind: 'builtin', name: 'example' }, hyperparameters: { epochs } });
  return vi.waitFor(
    async () => {
      const current = await t.client.jobs.get.query({ id: job.id });
      if (current.status !== 'succeeded') throw new Error(`job ${job.id} ${current.status} ${current.error ?? ''}`);
      return current;
    },
    { timeout: 30_000, interval: 100 },
  );
};

describe('jobs.compare (real server, real example-trainer jobs and metric files)', () => {
  it('answers each job in the order asked with its hyperparameters and metric summaries, the parameters that differ and the metric names', async () => {
    const jobs = [await runExample(2), await runExample(4), await runExample(3)];
    const ids = jobs.map((job) => job.id);
    const compared = await t.client.jobs.compare.query({ jobIds: [...ids, ids[0] as string] });
    expect(compared.jobs.map((job) => job.id)).toEqual(ids); // a repeated id counts once
    expect(compared.parameters).toEqual(['epochs', 'stepDelayMs']);
    expect(compared.differingParameters).toEqual(['epochs']);
    expect(compared.metrics).toEqual(['train_loss', 'val_accuracy']);
    const four = compared.jobs[1];
    expect(four).toMatchObject({ name: 'example-4', status: 'succeeded', executor: 'local', hyperparameters: { epochs: 4, stepDelayMs: 0 } });
    // The example trainer reports train_loss = 1/(epoch+1) and val_accuracy = min(0.99, 0.5 + epoch/(2·epochs)) at epochs 1..N.
    expect(four?.metrics['train_loss']).toEqual({ last: 1 / 5, lastStep: 4, min: 1 / 5, minStep: 4, max: 1 / 2, maxStep: 1, count: 4 });
    expect(four?.metrics['val_accuracy']).toEqual({ last: 0.99, lastStep: 4, min: 0.5 + 1 / 8, minStep: 1, max: 0.99, maxStep: 4, count: 4 });
    // The summaries agree with the points jobs.metrics returns.
    const points = await t.client.jobs.metrics.query({ jobId: ids[1] as string, names: ['train_loss'] });
    expect(points['train_loss']?.value.at(-1)).toBe(four?.metrics['train_loss']?.last);

    const onlyLoss = await t.client.jobs.compare.query({ jobIds: ids, metrics: ['train_loss', 'not-reported'] });
    expect(onlyLoss.metrics).toEqual(['train_loss']);
    expect(Object.keys(onlyLoss.jobs[0]?.metrics ?? {})).toEqual(['train_loss']);
  }, 90_000);

  it('a job without metrics yet is compared too (queued, no files)', async () => {
    const waiting = await t.client.jobs.create.mutate({
      name: 'later',
      trainer: { kind: 'builtin', name: 'example' },
      hyperparameters: { epochs: 1 },
      priority: -100,
    });
    const compared = await t.client.jobs.compare.query({ jobIds: [waiting.id] });
    expect(compared.jobs[0]).toMatchObject({ id: waiting.id, name: 'later' });
    expect(compared.differingParameters).toEqual([]);
    await t.client.jobs.cancel.mutate({ id: waiting.id }).catch(() => undefined);
  });

  it('names the unknown ids, and refuses an empty, oversized or malformed list', async () => {
    const [known] = (await t.client.jobs.list.query({ limit: 1 })).items;
    const unknown = [newId(), newId()];
    const error = await refusal(t.client.jobs.compare.query({ jobIds: [known?.id as string, ...unknown] }));
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.message).toBe(`2 training jobs not found: ${unknown.join(', ')}`);
    expect((error.data as unknown as { code: string; details: unknown }).code).toBe('NOT_FOUND');
    expect((error.data as unknown as { details: unknown }).details).toEqual({ missing: unknown });

    for (const jobIds of [[], Array.from({ length: 1_001 }, () => newId()), ['not-a-uuid']]) {
      const refused = await refusal(t.client.jobs.compare.query({ jobIds }));
      expect((refused.data as unknown as { code: string }).code).toBe('BAD_REQUEST');
    }
    const tooManyMetrics = await refusal(t.client.jobs.compare.query({ jobIds: [newId()], metrics: Array.from({ length: 101 }, (_, i) => `m${i}`) }));
    expect((tooManyMetrics.data as unknown as { code: string }).code).toBe('BAD_REQUEST');
    const extra = await refusal(t.client.jobs.compare.query({ jobIds: [newId()], other: 1 } as never));
    expect((extra.data as unknown as { code: string }).code).toBe('BAD_REQUEST');
  });
});
