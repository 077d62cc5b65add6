import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PGlite } from '@electric-sql/pglite';
import { createFsBlobStore } from '@trainyard/artifacts';
import { newId } from '@trainyard/core';
import { createDatasetSnapshotService, createTrainingDataService, importTrainingData, pairContentHash } from '@trainyard/datasets';
import { copyPgliteTemplate, loadMigrations, openDatabase } from '@trainyard/db';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';

const PAIRS = 100_000;

const pair = (i: number) => ({
  aiText: `Furthermore, it is important to note that item ${i} demonstrates a comprehensive and multifaceted approach, leveraging robust methodologies across ${i % 97} domains.`,
  humanizedText: `Item ${i} takes a broad look at the topic and uses methods that hold up well in ${i % 89} areas.`,
  detectionScoreBefore: ((i * 37) % 100) / 100,
  detectionScoreAfter: ((i * 11) % 100) / 200,
  sourceModel: i % 2 === 0 ? 'gpt-x' : 'claude-y',
  tags: i % 3 === 0 ? ['news'] : ['essay'],
});

const csvField = (value: string): string => `"${value.replace(/"/g, '""')}"`;

/** The same rows as one CSV for COPY: what the database can ingest with no per-row work of ours. */
const copyCsv = (): Blob => {
  const lines: string[] = [];
  for (let i = 0; i < PAIRS; i += 1) {
    const p = pair(i);
    lines.push(
      [
        newId(),
        csvField(p.aiText),
        csvField(p.humanizedText),
        pairContentHash(p.aiText, p.humanizedText),
        p.detectionScoreBefore,
        p.detectionScoreAfter,
        0.5,
        csvField(`{${p.tags.join(',')}}`),
      ].join(','),
    );
  }
  return new Blob([lines.join('\n')]);
};

export const datasetsBench = async (): Promise<BenchRow[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-data-'));
  try {
    const jsonl = Buffer.from(Array.from({ length: PAIRS }, (_, i) => JSON.stringify(pair(i))).join('\n'));
    const migrations = await loadMigrations();

    const importRuns = await repeat(3, async () => {
      const dir = join(scratch, `import-${Math.random()}`);
      const db = await openDatabase({ kind: 'pglite', dataDir: dir });
      const elapsed = await timeMs(async () => {
        const report = await importTrainingData(db.sql, Readable.from([jsonl]), 'jsonl');
        if (report.imported !== PAIRS) throw new Error(`imported ${report.imported}`);
      });
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      return elapsed;
    });
    const copyRuns = await repeat(3, async () => {
      const dir = join(scratch, `copy-${Math.random()}`);
      await copyPgliteTemplate(migrations, dir);
      const pglite = await PGlite.create(dir);
      const blob = copyCsv();
      const elapsed = await timeMs(() =>
        pglite.query(
          `COPY "TrainingDataPoint" ("id", "aiText", "humanizedText", "contentHash", "detectionScoreBefore", "detectionScoreAfter", "qualityScore", "tags") FROM '/dev/blob' WITH (FORMAT csv)`,
          [],
          { blob },
        ),
      );
      await pglite.close();
      rmSync(dir, { recursive: true, force: true });
      return elapsed;
    });

    // Snapshot and list on one imported database.
    const dir = join(scratch, 'query');
    const db = await openDatabase({ kind: 'pglite', dataDir: dir });
    await importTrainingData(db.sql, Readable.from([jsonl]), 'jsonl');
    const snapshots = createDatasetSnapshotService(db, await createFsBlobStore(join(scratch, 'blobs')));
    const snapshotRuns = await repeat(3, (run) => timeMs(() => snapshots.create({ name: `bench ${run}`, filter: {}, validationFraction: 0.1, seed: run })));
    const data = createTrainingDataService(db);
    await data.list({ minQuality: 0.3, tags: ['news'] }, 50); // warm-up
    const listRuns = await repeat(20, () => timeMs(() => data.list({ minQuality: 0.3, tags: ['news'], sourceModel: 'gpt-x' }, 50)));
    await db.close();

    const rate = PAIRS / (median(importRuns) / 1000);
    return [
      {
        benchmark: `import ${PAIRS.toLocaleString('en')} JSONL pairs into embedded PGlite (dedup, quality score)`,
        value: `${(median(importRuns) / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString('en')} pairs/s`,
        baseline: `${(median(copyRuns) / 1000).toFixed(2)} s (raw COPY of the same rows)`,
        ratio: `${(median(importRuns) / median(copyRuns)).toFixed(2)}×`,
        target: '≥ 20 000 pairs/s and ≤ 3× COPY',
        pass: rate >= 20_000 && median(importRuns) <= 3 * median(copyRuns),
      },
      {
        benchmark: `snapshot of ${PAIRS.toLocaleString('en')} pairs (JSONL blob + manifest)`,
        value: `${(median(snapshotRuns) / 1000).toFixed(2)} s`,
        target: '≤ 3 s',
        pass: median(snapshotRuns) <= 3000,
      },
      {
        benchmark: `filtered list page of 50 from ${PAIRS.toLocaleString('en')} rows`,
        value: `${median(listRuns).toFixed(1)} ms`,
        target: '≤ 50 ms',
        pass: median(listRuns) <= 50,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
