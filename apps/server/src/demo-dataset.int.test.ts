import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore } from '@trainyard/artifacts';
import { createDatasetSnapshotService, createTrainingDataService } from '@trainyard/datasets';
import type { Logger } from '@trainyard/core';
import { createTestDatabase } from '@trainyard/db';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_SNAPSHOT_NAME, seedDemoDataset } from './demo-dataset';

const logger: Logger = { info: () => undefined, error: () => undefined };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

/** A fresh database with the datasets services, as the server has them. */
const datasets = async () => {
  const database = await createTestDatabase();
  const root = await mkdtemp(join(tmpdir(), 'trainyard-demo-'));
  cleanup.push(async () => {
    await database.close();
    await rm(root, { recursive: true, force: true });
  });
  const snapshots = createDatasetSnapshotService(database, await createFsBlobStore(root));
  return { trainingData: createTrainingDataService(database), snapshots, logger };
};

const pair = { aiText: 'An AI wrote this sentence.', humanizedText: 'A person rewrote this one.' };

describe('the demo dataset goes only into an empty database', () => {
  it('seeds 2 000 tagged pairs and their snapshot into an empty one', async () => {
    const deps = await datasets();
    expect(await deps.trainingData.isEmpty()).toBe(true);
    expect(await deps.snapshots.isEmpty()).toBe(true);
    expect(await seedDemoDataset(deps)).toBe(true);
    expect(await deps.trainingData.count({ tags: ['demo'] })).toBe(2_000);
    expect((await deps.snapshots.list(10)).items.map((s) => s.name)).toEqual([DEMO_SNAPSHOT_NAME]);
  });

  it('adds nothing where a pair exists, even an excluded one', async () => {
    const deps = await datasets();
    const { id } = await deps.trainingData.collect(pair);
    await deps.trainingData.setExcluded(id, true);
    expect(await deps.trainingData.isEmpty()).toBe(false);
    expect(await seedDemoDataset(deps)).toBe(false);
    expect(await deps.snapshots.isEmpty()).toBe(true);
  });

  it('adds nothing where only a snapshot exists', async () => {
    const deps = await datasets();
    await deps.snapshots.create({ name: 'empty', filter: {}, validationFraction: 0.2, seed: 1 });
    expect(await deps.trainingData.isEmpty()).toBe(true);
    expect(await seedDemoDataset(deps)).toBe(false);
    expect(await deps.trainingData.isEmpty()).toBe(true);
  });
});
