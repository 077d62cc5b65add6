import type { BlobBatchLimits } from '@trainyard/contracts';

// Batches of small blobs in flight, pushing or pulling: each is one request whose blobs the
// server writes or reads several at a time, so a few batches keep the store busy (issue #24).
export const BATCH_CONCURRENCY = 4;
/** Bytes a batch aims for: small enough that several are in flight even for a few MiB of blobs. */
const BATCH_TARGET_BYTES = 1024 * 1024;

/** The first of each hash, the records themselves (not copies: a version of 100 000 is held once). */
export const uniqueByHash = <T extends { sha256: string }>(blobs: readonly T[]): T[] => {
  const seen = new Set<string>();
  return blobs.filter((blob) => !seen.has(blob.sha256) && seen.add(blob.sha256));
};

/** Groups small blobs into batches within the server's limits (and BATCH_TARGET_BYTES). */
export const batchesOf = (blobs: Array<{ sha256: string; size: number }>, limits: BlobBatchLimits): Array<Array<{ sha256: string; size: number }>> => {
  const batches: Array<Array<{ sha256: string; size: number }>> = [];
  let current: Array<{ sha256: string; size: number }> = [];
  let bytes = 0;
  const target = Math.min(BATCH_TARGET_BYTES, limits.maxBytes);
  // The manifest line: ~90 bytes of JSON per blob.
  const maxBlobs = Math.min(limits.maxBlobs, Math.floor(limits.manifestBytes / 100));
  for (const blob of blobs) {
    if (current.length > 0 && (current.length >= maxBlobs || bytes + blob.size > target)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(blob);
    bytes += blob.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/**
 * Runs transfers until the first one fails: after that nothing new starts (a task wrapped by
 * `guard` returns at once), and the caller, once every started task settled, rethrows the
 * first error with `rethrow` — the retry negotiates again and must not race sends of this attempt.
 */
export const stopAtFirstFailure = () => {
  let failure: { error: unknown } | undefined;
  return {
    guard: (work: () => Promise<void>) => async (): Promise<void> => {
      if (failure) return;
      await work().catch((error: unknown) => {
        failure ??= { error };
      });
    },
    failed: (): boolean => failure !== undefined,
    rethrow(): void {
      if (failure) throw failure.error;
    },
  };
};
