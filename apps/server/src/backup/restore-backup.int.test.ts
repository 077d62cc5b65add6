import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { importTrainingData } from '@trainyard/datasets';
import { copyPgliteTemplate, loadMigrations, openDatabase } from '@trainyard/db';
import { syntheticPairs } from '@trainyard/trainers';
import { afterAll, describe, expect, it } from 'vitest';
import { restoreBackup } from './restore-backup';
import { prepareBackup } from './write-backup';

const root = mkdtempSync(join(tmpdir(), 'trainyard-restore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('restoring a backup made by an older Trainyard', () => {
  it('builds the database to the backup’s migrations, loads it, then migrates it on to this version (a column the newer migration adds gets its default)', async () => {
    const migrations = await loadMigrations();
    const older = migrations.slice(0, -1);
    const newest = migrations.at(-1)?.name ?? '';
    // An older Trainyard's data dir: every migration but the newest, a job and some pairs.
    const oldDir = join(root, 'old');
    await copyPgliteTemplate(older, join(oldDir, 'pglite'));
    const oldDatabase = await openDatabase({ kind: 'pglite', dataDir: join(oldDir, 'pglite') });
    const jobId = randomUUID();
    const archive = join(root, 'old.tar');
    try {
      const report = await importTrainingData(
        oldDatabase.sql,
        Readable.from([
          Buffer.from(
            syntheticPairs(40, 3)
              .map((pair) => JSON.stringify(pair))
              .join('\n'),
          ),
        ]),
        'jsonl',
      );
      expect(report.imported).toBe(40);
      await oldDatabase.sql.query(`INSERT INTO "TrainingJob" (id, name, status, trainer) VALUES ($1, 'old-job', 'succeeded', '{}')`, [jobId]);
      const { manifest, archive: stream } = await prepareBackup({ database: oldDatabase, blobRoot: join(oldDir, 'blobs'), dataDir: oldDir });
      expect(manifest.migrations).toEqual(older.map((migration) => migration.name));
      await pipeline(stream, createWriteStream(archive));
    } finally {
      await oldDatabase.close();
    }

    const restoredDir = join(root, 'restored');
    const { migrated } = await restoreBackup(archive, restoredDir);
    expect(migrated).toEqual([newest]);
    const restored = await openDatabase({ kind: 'pglite', dataDir: join(restoredDir, 'pglite') });
    try {
      expect(await restored.migrate()).toEqual({ applied: [], alreadyApplied: migrations.length });
      expect(await restored.sql.query(`SELECT count(*)::int AS n FROM "TrainingDataPoint"`)).toEqual([{ n: 40 }]);
      expect(await restored.sql.query(`SELECT name, "checkpointPolicy" FROM "TrainingJob" WHERE id = $1`, [jobId])).toEqual([
        { name: 'old-job', checkpointPolicy: {} },
      ]);
    } finally {
      await restored.close();
    }
  }, 120_000);
});
