import { join } from 'node:path';
import { createMetricsStore } from '@trainyard/training';
import { describe, expect, it } from 'vitest';
import { SEEDED_METRICS, seedComparedJobs, seededParameters, seededValue } from '@trainyard/test-services';
import { useLocalTestServer } from './test-support/local-test-server';

// Seeded jobs are never run: their metric files are the seeded ones.
const t = useLocalTestServer({ TRAINYARD_ORCHESTRATOR: 'off' });
const JOBS = 1_000;
const POINTS = 200;

describe(`jobs.compare of ${JOBS} jobs × ${SEEDED_METRICS.length} metrics × ${POINTS} points (real server, seeded through the real services)`, () => {
  it('summarises every series exactly, and answers in well under a second', async () => {
    const ids = await seedComparedJobs({ client: t.client, metrics: createMetricsStore(join(t.dataDir, 'metrics')), count: JOBS, points: POINTS });
    await t.client.jobs.compare.query({ jobIds: ids }); // warm-up: the first call compiles the paths
    const times: number[] = [];
    let compared: Awaited<ReturnType<typeof t.client.jobs.compare.query>> | undefined;
    for (let run = 0; run < 3; run += 1) {
      const started = performance.now();
      compared = await t.client.jobs.compare.query({ jobIds: ids });
      times.push(performance.now() - started);
    }
    expect(compared?.jobs).toHaveLength(JOBS);
    expect(compared?.metrics).toEqual([...SEEDED_METRICS].sort());
    expect(compared?.differingParameters).toEqual(['layers', 'lr', 'optimizer', 'seed']);
    expect(compared?.parameters).toEqual(['batch_size', 'layers', 'lr', 'optimizer', 'seed']);
    for (const index of [0, 7, 431, 999]) {
      const job = compared?.jobs[index];
      expect(job?.hyperparameters).toEqual(seededParameters(index));
      const valLoss = Array.from({ length: POINTS }, (_, i) => seededValue('val_loss', index, i + 1, POINTS));
      const lowest = Math.min(...valLoss);
      expect(job?.metrics['val_loss']).toEqual({
        last: valLoss.at(-1),
        lastStep: POINTS,
        min: lowest,
        minStep: valLoss.indexOf(lowest) + 1,
        max: valLoss[0],
        maxStep: 1,
        count: POINTS,
      });
      expect(job?.metrics['val_loss']?.minStep).toBeLessThan(POINTS); // best is not last
    }
    const median = [...times].sort((a, b) => a - b)[1] as number;
    console.log(`jobs.compare of ${JOBS} jobs: ${times.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median.toFixed(0)})`);
    expect(median).toBeLessThan(1_000);
  }, 180_000);
});
