import pLimit from 'p-limit';

/** What seeding needs of the typed client and of training's metrics store (named structurally: test-services imports neither). */
interface JobCreator {
  jobs: {
    create: {
      mutate(input: { name: string; trainer: { kind: 'command'; command: string[] }; hyperparameters: Record<string, unknown> }): Promise<{ id: string }>;
    };
  };
}
interface MetricsWriters {
  writer(jobId: string): Promise<{ append(name: string, step: number, value: number): void; close(): Promise<void> }>;
}

/** Ten metrics, as a sweep's trials report them: some better low (loss, error, perplexity), the rest better high. */
export const SEEDED_METRICS = ['loss', 'val_loss', 'error_rate', 'perplexity', 'accuracy', 'val_accuracy', 'precision', 'recall', 'f1', 'auc'] as const;

/** Trial `index`'s hyperparameters: lr × layers × optimizer (30 configurations), then a seed; batch_size is the same on all. */
export const seededParameters = (index: number) => ({
  lr: [0.001, 0.003, 0.01, 0.03, 0.1][index % 5] as number,
  layers: [2, 4, 8][Math.floor(index / 5) % 3] as number,
  optimizer: ['adam', 'sgd'][Math.floor(index / 15) % 2] as string,
  seed: Math.floor(index / 30),
  batch_size: 32,
});

/** How far a configuration is from the best one (lr 0.01, 4 layers, adam), plus a little per seed, and a hair per trial (no two tie). */
const gap = (p: ReturnType<typeof seededParameters>, index: number): number =>
  Math.abs(Math.log10(p.lr) + 2) / 2 + Math.abs(Math.log2(p.layers) - 2) / 4 + (p.optimizer === 'sgd' ? 0.2 : 0) + (p.seed % 7) / 100 + index / 1e6;

/**
 * A metric's value at a step, a known function of the trial's hyperparameters: the loss falls
 * towards the configuration's floor; val_loss also rises again after step 150 (overfitting),
 * so its best (lowest) is not its last.
 */
export const seededValue = (metric: string, index: number, step: number, points: number): number => {
  const p = seededParameters(index);
  const loss = 0.1 + gap(p, index) + Math.exp(-step / (points / 5));
  const overfit = step > points * 0.75 ? (step - points * 0.75) / points : 0;
  switch (metric) {
    case 'loss':
      return loss;
    case 'val_loss':
      return loss + 0.05 + overfit;
    case 'error_rate':
      return Math.min(1, loss / 2);
    case 'perplexity':
      return Math.exp(loss);
    default:
      // accuracy-like, better high: 1 − error, a little apart per metric
      return Math.max(0, 1 - loss / 2 - SEEDED_METRICS.indexOf(metric as (typeof SEEDED_METRICS)[number]) / 100);
  }
};

/**
 * Jobs to compare, made through the real services: each created through the API (a command
 * trainer the server never runs: start it with TRAINYARD_ORCHESTRATOR=off) with
 * `seededParameters(i)`, and its metric files written by the real metrics store on the server's
 * metrics directory (`createMetricsStore(join(dataDir, 'metrics'))`, passed in), `points` steps
 * of each of SEEDED_METRICS (`seededValue`).
 */
export const seedComparedJobs = async (options: { client: JobCreator; metrics: MetricsWriters; count: number; points?: number; prefix?: string }) => {
  const points = options.points ?? 200;
  const store = options.metrics;
  const limit = pLimit(8);
  const ids = await Promise.all(
    Array.from({ length: options.count }, (_, index) =>
      limit(async () => {
        const job = await options.client.jobs.create.mutate({
          name: `${options.prefix ?? 'trial'}-${String(index).padStart(4, '0')}`,
          trainer: { kind: 'command', command: [process.execPath, '-e', '0'] },
          hyperparameters: seededParameters(index),
        });
        const writer = await store.writer(job.id);
        for (const metric of SEEDED_METRICS)
          for (let step = 1; step <= points; step += 1) writer.append(metric, step, seededValue(metric, index, step, points));
        await writer.close();
        return job.id;
      }),
    ),
  );
  return ids;
};
