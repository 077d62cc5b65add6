import type { Readable } from 'node:stream';
import type { ImportReport } from '@trainyard/contracts';
import type { SqlExecutor } from '@trainyard/db';
import type { ImportFormat } from './import-lines';
import { type CopyCapable, createCopyPairInserter, insertJsonRows } from './pair-insert';
import { prepareInWorker } from './pair-preparation-worker';

export { CSV_COLUMNS, type ImportFormat, MAX_LINE_BYTES } from './import-lines';

const ANALYZE_AFTER = 1_000;
const STATISTICS_TARGET = 10;

const canCopy = (db: SqlExecutor): db is CopyCapable => typeof db.copyCsv === 'function';

/**
 * Streams a JSONL or CSV file into the database in batches (20 000 pairs or 16 MiB of text).
 * Valid lines are imported, invalid ones reported with their line number and reason. A worker
 * thread prepares the batches (import-batches.ts) while this thread writes the previous one.
 * Each batch lands in one statement, so a crash loses at most the batch in flight and never
 * half a pair. Batches go through COPY on both PGlite and PostgreSQL (see pair-insert.ts).
 */
export const importTrainingData = async (db: SqlExecutor, source: Readable, format: ImportFormat): Promise<ImportReport & { rejectedCount: number }> => {
  const report = { imported: 0, duplicates: 0, rejected: [] as ImportReport['rejected'], rejectedCount: 0, aborted: false };
  const copier = canCopy(db) ? createCopyPairInserter(db) : undefined;
  for await (const batch of prepareInWorker(source, format, copier ? 'copy' : 'json')) {
    report.rejectedCount += batch.rejectedCount;
    report.rejected.push(...batch.rejected); // itemised up to 1 000 by the worker, the rest counted
    if (batch.abortedAt) {
      report.rejectedCount += 1;
      report.rejected.push(batch.abortedAt);
      report.aborted = true;
    }
    if (batch.hashes.length === 0) continue;
    const created = copier ? await copier.insert(batch) : await insertJsonRows(db, batch);
    report.imported += created.size;
    report.duplicates += batch.hashes.length - created.size;
  }
  // PGlite has no autovacuum daemon, so nothing else refreshes the planner's statistics; without
  // them a filtered list of 100 000 rows falls back to a sequential scan (~150 ms instead of ~3 ms).
  // A 3 000-row sample (statistics target 10) is plenty to choose the list's plan and takes
  // ~60 ms; the default 30 000-row sample took ~650 ms per import, a tenth of a 100 000-pair one.
  if (report.imported >= ANALYZE_AFTER) await db.exec(`BEGIN; SET LOCAL default_statistics_target = ${STATISTICS_TARGET}; ANALYZE "TrainingDataPoint"; COMMIT`);
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
};
