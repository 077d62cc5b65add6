import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactService, createFsBlobStore } from '@trainyard/artifacts';
import { createVersionInput } from '@trainyard/contracts';
import { createDatasetSnapshotService } from '@trainyard/datasets';
import { openDatabase } from '@trainyard/db';
import { createLineageService, createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { createTrainerCatalog, createTrainingContext } from '@trainyard/training';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';

const MODELS = 10_000;
const VERSIONS = 10;

export const registryBench = async (): Promise<BenchRow[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-registry-'));
  const db = await openDatabase({ kind: 'pglite', dataDir: join(scratch, 'db') });
  try {
    // Background population in bulk SQL (what is measured below goes through the services).
    await db.sql.exec(`
      INSERT INTO "ModelRegistry" ("id", "name", "tags", "metadata", "latestVersion")
        SELECT gen_random_uuid(), 'model-' || i, ARRAY['team-' || (i % 20)], jsonb_build_object('owner', 'user-' || (i % 50)), ${VERSIONS}
        FROM generate_series(1, ${MODELS}) i;
      INSERT INTO "ModelVersion" ("id", "modelId", "version", "metrics", "tags")
        SELECT gen_random_uuid(), m."id", v, jsonb_build_object('val_accuracy', 0.5 + v / 100.0), ARRAY[]::text[]
        FROM "ModelRegistry" m, generate_series(1, ${VERSIONS}) v;
      INSERT INTO "ModelAlias" ("id", "modelId", "alias", "versionId")
        SELECT gen_random_uuid(), m."id", 'champion', v."id" FROM "ModelRegistry" m JOIN "ModelVersion" v ON v."modelId" = m."id" AND v."version" = 7;
      ANALYZE;`);
    // The services as the server wires them: versions list their artifacts, lineage asks jobs, snapshots and artifacts.
    const blobs = await createFsBlobStore(join(scratch, 'blobs'));
    const snapshots = createDatasetSnapshotService(db, blobs);
    const artifacts = createArtifactService({ database: db, blobs, gcGraceMs: 3_600_000, owners: () => ({ jobs, versions }) });
    const models = createModelRegistryService(db);
    const versions = createModelVersionService(db, artifacts);
    const { jobs } = createTrainingContext({
      database: db,
      root: scratch,
      snapshots,
      blobs,
      artifacts,
      models,
      versions,
      catalog: createTrainerCatalog(),
      env: {},
      logger: { info: () => undefined, error: () => undefined },
      concurrency: 1,
    });
    const lineageService = createLineageService({ database: db, jobs, snapshots, artifacts });

    await models.list({ includeArchived: false, limit: 50 });
    const list = await repeat(20, () => timeMs(() => models.list({ includeArchived: false, limit: 50, tag: 'team-3' })));
    const byAlias = await repeat(50, (i) => timeMs(() => versions.get(`model-${1 + ((i * 7919) % MODELS)}`, { alias: 'champion' })));

    await models.register({ name: 'chain-0', description: '', tags: [], metadata: {} }, 'bench');
    await versions.create(createVersionInput.parse({ model: 'chain-0' }), 'bench');
    for (let depth = 1; depth <= 5; depth += 1) {
      await models.register({ name: `chain-${depth}`, description: '', tags: [], metadata: {} }, 'bench');
      await versions.create(createVersionInput.parse({ model: `chain-${depth}`, parentVersion: { model: `chain-${depth - 1}`, version: 1 } }), 'bench');
    }
    const lineage = await repeat(20, () => timeMs(() => lineageService.graph('chain-5', 1)));

    await models.register({ name: 'sequential', description: '', tags: [], metadata: {} }, 'bench');
    const sequential = await timeMs(async () => {
      for (let i = 0; i < 1_000; i += 1) await versions.create(createVersionInput.parse({ model: 'sequential', metrics: { step: i } }), 'bench');
    });

    const ms = (values: number[]): string => `${median(values).toFixed(1)} ms`;
    return [
      {
        benchmark: `models.list page of 50 (tag filter), ${MODELS.toLocaleString('en')} models × ${VERSIONS} versions`,
        value: ms(list),
        target: '≤ 20 ms',
        pass: median(list) <= 20,
      },
      { benchmark: 'models.getVersion by alias', value: ms(byAlias), target: '≤ 5 ms', pass: median(byAlias) <= 5 },
      { benchmark: 'lineage of a 5-deep fine-tune chain', value: ms(lineage), target: '≤ 20 ms', pass: median(lineage) <= 20 },
      { benchmark: '1 000 sequential version registrations', value: `${(sequential / 1000).toFixed(2)} s`, target: '≤ 5 s', pass: sequential <= 5_000 },
    ];
  } finally {
    await db.close();
    rmSync(scratch, { recursive: true, force: true });
  }
};
