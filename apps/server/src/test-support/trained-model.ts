import type { TrainyardClient } from '@trainyard/client';
import { isFinishedJobStatus } from '@trainyard/contracts';
import { syntheticPairs } from '@trainyard/trainers';
import { vi } from 'vitest';

/** Waits (up to 2 minutes) for a job to finish; resolves with the job as it finished. */
export const waitForJob = (client: TrainyardClient, id: string) =>
  vi.waitFor(
    async () => {
      const job = await client.jobs.get.query({ id });
      if (!isFinishedJobStatus(job.status)) throw new Error(`job still ${job.status}`);
      return job;
    },
    { timeout: 120_000, interval: 200 },
  );

/**
 * A model with one trained text-detector version on a running server, made as a user would:
 * import synthetic pairs, freeze them, train. Resolves with the job and its final status.
 */
export const trainDetectorModel = async (
  server: { url: string; token: string; client: TrainyardClient },
  options: { model: string; pairs: number; seed: number; epochs?: number; hashBits?: number },
): Promise<{ jobId: string; status: string }> => {
  const imported = await fetch(`${server.url}/import/training-data`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/x-ndjson' },
    body: syntheticPairs(options.pairs, options.seed)
      .map((pair) => JSON.stringify(pair))
      .join('\n'),
  });
  if (imported.status !== 200) throw new Error(`import answered ${imported.status}: ${await imported.text()}`);
  const snapshot = await server.client.datasets.createSnapshot.mutate({ name: options.model, validationFraction: 0.2 });
  const job = await server.client.jobs.create.mutate({
    name: `${options.model}-job`,
    datasetSnapshotId: snapshot.id,
    trainer: { kind: 'builtin', name: 'text-detector' },
    hyperparameters: { epochs: options.epochs ?? 1, hashBits: options.hashBits ?? 12 },
    targetModel: options.model,
  });
  const { status } = await waitForJob(server.client, job.id);
  return { jobId: job.id, status };
};
