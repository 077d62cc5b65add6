import type { GcReport } from '@trainyard/contracts';
import type { BlobStore } from './blob-store.port';

/** Each context that points at blobs (artifacts, dataset snapshots, …) reports its hashes. */
export interface BlobReferenceSource {
  referencedHashes(): Promise<ReadonlySet<string>>;
}

/** The report's shape is the API's (contracts' gcReportOutput). */
export type { GcReport };

/**
 * Mark and sweep. The grace period protects a blob uploaded just before its record is
 * registered: the two are separate requests, and a sweep must never win that race.
 */
export const collectGarbage = async (
  store: BlobStore,
  sources: readonly BlobReferenceSource[],
  options: { dryRun: boolean; graceMs: number; now?: Date },
): Promise<GcReport> => {
  const referenced = new Set<string>();
  for (const source of sources) for (const hash of await source.referencedHashes()) referenced.add(hash);
  const now = (options.now ?? new Date()).getTime();
  const report: GcReport = { dryRun: options.dryRun, scanned: 0, unreferenced: [], bytes: 0, keptYoung: 0 };
  for await (const blob of store.list()) {
    report.scanned += 1;
    if (referenced.has(blob.sha256)) continue;
    if (now - blob.modifiedAt.getTime() < options.graceMs) {
      report.keptYoung += 1;
      continue;
    }
    report.unreferenced.push({ sha256: blob.sha256, size: blob.size });
    report.bytes += blob.size;
    if (!options.dryRun) await store.delete(blob.sha256);
  }
  return report;
};
