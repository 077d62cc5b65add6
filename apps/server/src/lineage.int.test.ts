import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVersionInput } from '@trainyard/contracts';
import { newId } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { createServices, type Services } from './wiring';

/**
 * The lineage graph spans four contexts (model registry versions, training jobs, dataset snapshots,
 * artifacts), each asked for its own rows: tested on the services as the server wires them.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-lineage-'));
let database: Database;
let services: Services;
beforeAll(async () => {
  database = await createTestDatabase();
  const logger = { info: () => undefined, error: () => undefined };
  services = await createServices(loadConfig({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', TRAINYARD_ORCHESTRATOR: 'off' }), database, logger);
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const version = (model: string, extra: Record<string, unknown> = {}) => createVersionInput.parse({ model, ...extra });

describe('lineage', () => {
  it('draws lineage from snapshot through job and artifacts to versions and child versions across models', async () => {
    const { models: m, versions: v } = services;
    const snapshotId = newId();
    const jobId = newId();
    const artifactId = newId();
    // Rows of the other contexts written directly: only their ids and names matter here.
    await database.sql.query(
      `INSERT INTO "DatasetSnapshot" ("id", "name", "filter", "validationFraction", "seed", "totalCount", "trainCount", "validationCount", "blobSha256", "blobSize")
       VALUES ($1, 'pairs-v1', '{}', 0.1, 1, 10, 9, 1, $2, 100)`,
      [snapshotId, 'a'.repeat(64)],
    );
    await database.sql.query(
      `INSERT INTO "TrainingJob" ("id", "name", "status", "trainer", "datasetSnapshotId") VALUES ($1, 'train-1', 'succeeded', '{}', $2)`,
      [jobId, snapshotId],
    );
    await database.sql.query(
      `INSERT INTO "ModelArtifact" ("id", "sha256", "name", "type", "size", "trainingJobId") VALUES ($1, $2, 'model.bin', 'model', 10, $3)`,
      [artifactId, 'b'.repeat(64), jobId],
    );
    await m.register({ name: 'lineage-base', description: '', tags: [], metadata: {} }, 'test');
    await m.register({ name: 'lineage-child', description: '', tags: [], metadata: {} }, 'test');
    await v.create(version('lineage-base', { trainingJobId: jobId, datasetSnapshotId: snapshotId, artifactIds: [artifactId] }), 'test');
    await v.create(version('lineage-child', { parentVersion: { model: 'lineage-base', version: 1 } }), 'test');
    await v.create(version('lineage-child', { parentVersion: { model: 'lineage-child', version: 1 } }), 'test');

    const graph = await services.lineage.graph('lineage-base');
    expect(graph.nodes.map((n) => `${n.kind}:${n.label}`).sort()).toEqual(
      ['artifact:model: model.bin', 'job:train-1', 'snapshot:pairs-v1', 'version:lineage-base@1', 'version:lineage-child@1', 'version:lineage-child@2'].sort(),
    );
    const label = new Map(graph.nodes.map((n) => [n.id, n.label]));
    expect(graph.edges.map((e) => `${label.get(e.from)} -${e.kind}-> ${label.get(e.to)}`).sort()).toEqual(
      [
        'pairs-v1 -trained_on-> train-1',
        'train-1 -produced-> lineage-base@1',
        'train-1 -produced-> model: model.bin',
        'model: model.bin -packaged_in-> lineage-base@1',
        'lineage-base@1 -fine_tuned_into-> lineage-child@1',
        'lineage-child@1 -fine_tuned_into-> lineage-child@2',
      ].sort(),
    );
    const fromChild = await services.lineage.graph('lineage-child', 2);
    expect(
      fromChild.nodes
        .filter((n) => n.kind === 'version')
        .map((n) => n.label)
        .sort(),
    ).toEqual(['lineage-base@1', 'lineage-child@1', 'lineage-child@2']);
  });

  it('names a missing model or version, and is empty for a model without versions', async () => {
    await services.models.register({ name: 'lineage-empty', description: '', tags: [], metadata: {} }, 'test');
    expect(await services.lineage.graph('lineage-empty')).toEqual({ nodes: [], edges: [] });
    await expect(services.lineage.graph('lineage-nobody')).rejects.toThrow('Model lineage-nobody not found');
    await expect(services.lineage.graph('lineage-empty', 3)).rejects.toThrow('Model lineage-empty has no version 3');
  });
});
