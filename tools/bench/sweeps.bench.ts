import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import type { CreateSweepInput, SweepOutput } from '@trainyard/contracts';
import { startServerProcess } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { median } from './stats';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const objective = fileURLToPath(new URL('../../libs/sweeps/src/test-fixtures/objective-trainer.mjs', import.meta.url));

/** 25 configurations of the test objective (best: lr 0.01, width 64), 27 steps of 50 ms each, one trial at a time. */
const sweepOf = (name: string, earlyStopping: boolean): CreateSweepInput => ({
  name,
  base: {
    trainer: { kind: 'command', command: [process.execPath, objective] },
    executor: 'local',
    hyperparameters: { steps: 27, stepMs: 50 },
    resources: {},
    checkpoints: { keepLast: 3 },
    validation: [],
    priority: 0,
    maxAttempts: 1,
  },
  method: 'grid',
  parameters: { lr: { values: [0.001, 0.003, 0.01, 0.03, 0.1] }, width: { values: [16, 32, 64, 128, 256] } },
  concurrency: 1,
  seed: 42,
  ...(earlyStopping ? { earlyStopping: { type: 'asha' as const, metric: 'loss', mode: 'min' as const, gracePeriod: 1, reductionFactor: 3 } } : {}),
});

const finished = async (client: TrainyardClient, name: string): Promise<SweepOutput> => {
  for (;;) {
    const sweep = await client.sweeps.get.query({ sweep: name });
    if (sweep.status !== 'running') return sweep;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/** The trial whose job ended with the lowest final loss (pruned trials never finished, so they are not candidates). */
const bestOf = async (client: TrainyardClient, sweep: SweepOutput): Promise<string> => {
  let best = { loss: Number.POSITIVE_INFINITY, config: '' };
  for (const trial of sweep.trials.filter((t) => t.outcome === 'succeeded')) {
    const job = await client.jobs.get.query({ id: trial.jobId ?? '' });
    const loss = (job.finalMetrics as Record<string, number> | null)?.['loss'] ?? Number.POSITIVE_INFINITY;
    if (loss < best.loss) best = { loss, config: JSON.stringify(trial.overrides) };
  }
  return best.config;
};

/**
 * ASHA on the test objective against the full grid, in the same run: the trainer-seconds (wall
 * time of the trials' jobs, summed) of a sweep with early stopping over the same sweep without,
 * and whether both find the same best configuration.
 */
export const sweepsBench = async (): Promise<BenchRow[]> => {
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-sweeps-'));
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: join(root, 'data'), TRAINYARD_DEMO_DATA: 'off' });
  const client = createTrainyardClient({ url: server.url, token: server.token });
  try {
    const full: number[] = [];
    const asha: number[] = [];
    const ratios: number[] = [];
    let sameBest = true;
    let pruned = 0;
    for (let run = 0; run < RUNS; run += 1) {
      await client.sweeps.create.mutate(sweepOf(`full-${run}`, false));
      const grid = await finished(client, `full-${run}`);
      await client.sweeps.create.mutate(sweepOf(`asha-${run}`, true));
      const early = await finished(client, `asha-${run}`);
      full.push(grid.trainerSeconds);
      asha.push(early.trainerSeconds);
      ratios.push(early.trainerSeconds / grid.trainerSeconds);
      pruned = early.counts.pruned;
      sameBest &&= (await bestOf(client, grid)) === (await bestOf(client, early)) && (await bestOf(client, early)) === JSON.stringify({ lr: 0.01, width: 64 });
    }
    const ratio = median(ratios);
    return [
      {
        benchmark: `ASHA (grace 1, η 3) on the test objective: trainer-seconds of 25 trials × 27 steps (${pruned} pruned), same best configuration: ${sameBest ? 'yes' : 'NO'}`,
        value: `${median(asha).toFixed(1)} s`,
        baseline: `full grid ${median(full).toFixed(1)} s`,
        ratio: `${(ratio * 100).toFixed(0)} %`,
        target: '≤ 40 % of the full grid, same best',
        pass: ratio <= 0.4 && sameBest,
      },
    ];
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(root, { recursive: true, force: true });
  }
};
