import type { Logger } from '@trainyard/core';
import type { DatasetSnapshotService, TrainingDataService } from '@trainyard/datasets';
import { syntheticPairs } from '@trainyard/trainers';

export const DEMO_SNAPSHOT_NAME = 'demo (synthetic pairs)';

/**
 * A fresh, empty database gets 2 000 generated pairs tagged `demo` and `synthetic` and a
 * snapshot of them, so a new user can train and score within a minute. Clearly labelled; never
 * added to a database that has data; `TRAINYARD_DEMO_DATA=off` disables it.
 */
export const seedDemoDataset = async (deps: { trainingData: TrainingDataService; snapshots: DatasetSnapshotService; logger: Logger }): Promise<boolean> => {
  if (!(await deps.trainingData.isEmpty()) || !(await deps.snapshots.isEmpty())) return false;
  const pairs = syntheticPairs(2_000);
  for (let i = 0; i < pairs.length; i += 1_000) await deps.trainingData.collectBatch(pairs.slice(i, i + 1_000));
  await deps.snapshots.create({ name: DEMO_SNAPSHOT_NAME, filter: { tags: ['demo'] }, validationFraction: 0.2, seed: 42 });
  deps.logger.info({ pairs: pairs.length }, 'seeded the synthetic demo dataset');
  return true;
};
