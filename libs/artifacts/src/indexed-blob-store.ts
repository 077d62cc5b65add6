import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { DomainError, isDomainError } from '@trainyard/core';
import pLimit from 'p-limit';
import type { Database, SqlQueryable } from '@trainyard/db';
import {
  type BlobLocation,
  type PackSpan,
  deletePackIfUnused,
  locateBlobs,
  PACK_TARGET_BYTES,
  packBuilder,
  packSpans,
  readPackedBlob,
  readPackSpan,
  sweepUnusedPacks,
  writePack,
} from './blob-packs';
import type { BlobInfo, BlobStore } from './blob-store.port';

/** A blob whose stored bytes were found not to hash to its address when read. */
export interface CorruptBlob {
  sha256: string;
  /** What the stored bytes hash to instead. */
  actual: string;
  detectedAt: Date;
}

/**
 * Hashes a lookup sends per query. A version of 100 000 blobs asked in one query sent a 6.5 MB
 * array and held it, and the answer, in PGlite's memory at once: the pulling laptop's memory
 * jumped by ~120 MB (issue #24). Pages of 10 000 keep that to a tenth, one round trip each.
 */
const HASHES_PER_QUERY = 10_000;

const inPages = async <T>(hashes: readonly string[], query: (page: string[]) => Promise<T>): Promise<T[]> => {
  const answers: T[] = [];
  for (let start = 0; start < hashes.length; start += HASHES_PER_QUERY) answers.push(await query(hashes.slice(start, start + HASHES_PER_QUERY)));
  return answers;
};

/** A blob store that also answers "which of these hashes are stored?" in a query for every 10 000. */
export interface IndexedBlobStore extends BlobStore {
  present(hashes: readonly string[]): Promise<Set<string>>;
  /** The recorded size of each of `hashes` that is stored (and not known corrupt): a query per 10 000. */
  sizes(hashes: readonly string[]): Promise<Map<string, number>>;
  /**
   * For a blob that reaches the store by another way (a completed multipart upload): runs
   * `write` — which must leave exactly the blob's verified bytes under its hash, or throw — and
   * records the blob, unless it is already recorded ('present': `write` is not run). Writes of
   * one hash through this store run one at a time (in this process, and on PostgreSQL across
   * every instance of a shared server on the database, under an advisory lock), so a
   * write never lands over a blob another one has just verified. `write` must go to the
   * underlying store, not through this one (it would wait for itself).
   */
  storeExclusively(sha256: string, size: number, write: () => Promise<void>): Promise<'stored' | 'present'>;
  /**
   * Blobs a read found corrupt since this process started (kept in memory: after a restart the
   * next read finds them again). A corrupt blob counts as absent for `present` (so a push sends
   * it again), a `put` of its hash replaces it, and `read` re-verifies it before sending a byte.
   */
  corruptBlobs(): CorruptBlob[];
  isCorrupt(sha256: string): boolean;
  /**
   * Writes of many small blobs whose index rows go in together: `put` verifies the bytes against
   * `expectedSha256` (refusing a mismatch, as `put` does) and `commit` makes every blob put so
   * far stored and indexed (call it also when a later write failed: what was verified counts).
   * On a store with packs (S3) the blobs go into packs of about PACK_TARGET_BYTES, one object
   * each, written as they fill and by `commit`; elsewhere each blob is written at once and
   * `commit` indexes them in one statement. For blobs the caller found absent with `present`; a
   * blob known corrupt takes the ordinary `put`.
   */
  batch(): BlobWriteBatch;
  /**
   * The bytes of `hashes`, each whole and verified, in their order. Every read of the batch
   * starts at once (READS_IN_FLIGHT at a time) and is held until taken — bounded by a batch's
   * limits (16 MiB). A pack's requested blobs come in one ranged read. Fails at the first blob that is
   * missing or does not hash right (which is then known corrupt), before any of its bytes.
   */
  readBatch(hashes: readonly string[]): AsyncIterable<Buffer>;
}

export interface BlobWriteBatch {
  /** True when `flush` writes the index rows itself, on the store's own connection (packs): wait for it before opening a transaction. */
  readonly flushWritesIndex: boolean;
  put(bytes: Buffer, expectedSha256: string): Promise<void>;
  /** Makes every blob put before the call durable and readable under its hash (flushes run in turn); `commit` indexes them. */
  flush(): Promise<void>;
  /**
   * Flushes, then records in the index every blob put before the call and not yet recorded; one
   * at a time. With `on` (a transaction of the caller's) the rows go in it while the flush runs:
   * they are seen with the caller's own rows once it commits, or never — and stay this batch's to
   * record, by a later commit without `on`, in case it rolls back. (Packs are recorded as they
   * are written, `on` or not.)
   */
  commit(on?: SqlQueryable): Promise<void>;
}

/** Reads (single blobs or pack runs) of one `readBatch` in flight: S3 answers each in a round trip. */
const READS_IN_FLIGHT = 8;
/** Rows of packed blobs listed per query. */
const LIST_PAGE = 1_000;

/** The key space of the per-hash advisory locks (any constant of ours; the second key comes from the hash). */
const BLOB_LOCK_NAMESPACE = 5_318_008;
/** A hash's lock key: its first 32 bits as a signed int (two hashes sharing one only wait for each other). */
const blobLockKey = (sha256: string): number => Number.parseInt(sha256.slice(0, 8), 16) | 0;

/** A read of a blob already known to be corrupt fails before any byte is sent. */
const drain = async (stream: Readable): Promise<void> => {
  for await (const _chunk of stream) void _chunk;
};

/** Runs tasks for the same key one after another (in this process); other keys are not held up. */
const keyedSerializer = () => {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(task);
    tails.set(key, run);
    try {
      return await run;
    } finally {
      if (tails.get(key) === run) tails.delete(key);
    }
  };
};

/**
 * Keeps a `StoredBlob` row per blob written or deleted through this store, so a shared server
 * can negotiate 1 000 hashes without 1 000 HEAD requests to S3. Writes record after the
 * store succeeded and deletes forget before the store deletes, so the index never claims a
 * blob the store lacks because of our own operations. A blob stored before the index existed
 * simply looks missing, is sent again, and is recorded then.
 */
export const withBlobIndex = (store: BlobStore, database: Database): IndexedBlobStore => {
  const { sql } = database;
  /** True when this call recorded it (it was not known before). */
  const record = async (sha256: string, size: number, on: SqlQueryable = sql): Promise<boolean> =>
    (await on.query(`INSERT INTO "StoredBlob" ("sha256", "size") VALUES ($1, $2) ON CONFLICT ("sha256") DO NOTHING RETURNING "sha256"`, [sha256, size]))
      .length > 0;
  const isIndexed = async (sha256: string, on: SqlQueryable = sql): Promise<boolean> =>
    (await on.query(`SELECT 1 FROM "StoredBlob" WHERE "sha256" = $1`, [sha256])).length > 0;
  const serialized = keyedSerializer();
  const corrupt = new Map<string, CorruptBlob>();
  /** Watches a verifying read: a hash mismatch marks the blob corrupt. */
  const watched = (sha256: string, stream: Readable): Readable =>
    stream.on('error', (error) => {
      const details = isDomainError(error) ? (error.details as { corrupt?: boolean; actual?: string } | undefined) : undefined;
      if (details?.corrupt) corrupt.set(sha256, { sha256, actual: details.actual ?? '', detectedAt: new Date() });
    });
  const packs = store.packs;
  /** A packed blob's location; undefined for a blob that is its own object (or not indexed), and always on a store without packs. */
  const packedLocation = async (sha256: string): Promise<BlobLocation | undefined> => {
    if (!packs) return undefined;
    const location = (await locateBlobs(sql, [sha256])).get(sha256);
    return location?.packSha256 ? location : undefined;
  };
  const markCorrupt = (sha256: string, actual: string): void => void corrupt.set(sha256, { sha256, actual, detectedAt: new Date() });
  const readPacked = (location: BlobLocation): Promise<Buffer> => readPackedBlob(packs as NonNullable<typeof packs>, location, markCorrupt);
  /** Forgets a blob; its own object is deleted, or its pack once no other blob lies in it. */
  const forget = async (sha256: string): Promise<void> => {
    const [row] = await sql.query<{ packSha256: string | null }>(`DELETE FROM "StoredBlob" WHERE "sha256" = $1 RETURNING "packSha256"`, [sha256]);
    if (row?.packSha256 && packs) await deletePackIfUnused(packs, sql, row.packSha256);
    else await store.delete(sha256);
  };
  const put: BlobStore['put'] = async (source, options = {}) => {
    // Replacing a corrupt blob: the store keeps an existing name, so the bad copy goes first.
    if (options.expectedSha256 !== undefined && corrupt.has(options.expectedSha256)) {
      await forget(options.expectedSha256);
      corrupt.delete(options.expectedSha256);
    }
    // A hash the index does not know is almost always new: let the store skip its own
    // existence check (a HEAD request per blob on S3). "Created" then comes from the index.
    const unknown = options.expectedSha256 !== undefined && !(await isIndexed(options.expectedSha256));
    const result = await store.put(source, unknown ? { ...options, assumeAbsent: true } : options);
    const recorded = await record(result.sha256, result.size);
    return unknown ? { ...result, created: recorded } : result;
  };
  /**
   * Starts reading every blob of a batch — packed ones a span per pack, READS_IN_FLIGHT reads at
   * a time, in the order they are first needed — and returns each blob's bytes (or its error,
   * raised when its turn comes) by hash. A batch is at most BLOB_BATCH_LIMITS bytes, so holding it is bounded.
   */
  const startBatchReads = async (hashes: readonly string[]): Promise<Map<string, Promise<Buffer>>> => {
    const locations = packs ? await locateBlobs(sql, hashes) : new Map<string, BlobLocation>();
    const packed = [...new Set(hashes)].map((sha256) => locations.get(sha256)).filter((location) => location?.packSha256) as BlobLocation[];
    const requested = packed.reduce((sum, location) => sum + location.size, 0);
    const limit = pLimit(READS_IN_FLIGHT);
    const spanReads = new Map<PackSpan, Promise<Map<string, Buffer | Error>>>();
    const spanOf = new Map<string, PackSpan>();
    for (const span of packSpans(packed, requested)) for (const blob of span.blobs) spanOf.set(blob.sha256, span);
    const reads = new Map<string, Promise<Buffer>>();
    for (const sha256 of hashes) {
      if (reads.has(sha256)) continue;
      const span = spanOf.get(sha256);
      let read: Promise<Buffer>;
      if (span) {
        let spanRead = spanReads.get(span);
        if (!spanRead) {
          spanRead = limit(() => readPackSpan(packs as NonNullable<typeof packs>, span, markCorrupt));
          spanReads.set(span, spanRead);
        }
        read = spanRead.then((blobs) => {
          const result = blobs.get(sha256) as Buffer | Error;
          if (result instanceof Error) throw result;
          return result;
        });
      } else read = limit(async () => buffer(await indexed.read(sha256)));
      read.catch(() => undefined); // awaited in order by the reader; one gone early must not leave it unhandled
      reads.set(sha256, read);
    }
    return reads;
  };
  const indexed: IndexedBlobStore = {
    kind: store.kind,
    put: (source, options = {}) =>
      options.expectedSha256 === undefined ? put(source, options) : serialized(options.expectedSha256, () => put(source, options)),
    async stat(sha256) {
      const location = await packedLocation(sha256);
      return location ? { sha256, size: location.size, modifiedAt: location.storedAt } : store.stat(sha256);
    },
    async read(sha256, range) {
      const location = await packedLocation(sha256);
      if (location) {
        // Small (a pack holds blobs of at most a batch's blob size): verified whole before a byte goes out.
        const bytes = await readPacked(location);
        corrupt.delete(sha256);
        return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]);
      }
      if (corrupt.has(sha256)) {
        // Known corrupt: verify the whole blob before anything is sent, so the caller gets an
        // error it can tell apart from a dropped connection (a repaired file is served again).
        await drain(watched(sha256, await store.read(sha256)));
        corrupt.delete(sha256);
      }
      return watched(sha256, await store.read(sha256, range));
    },
    async readRangeUnverified(sha256, range) {
      const location = await packedLocation(sha256);
      if (!location) return store.readRangeUnverified(sha256, range);
      // Outside the blob, the range would name a neighbour's bytes in the pack (and S3 answers an invalid range with the whole object).
      if (range.start < 0 || range.start > range.end || range.start >= location.size) {
        throw new DomainError('INVALID_ARGUMENT', `Range ${range.start}-${range.end} is outside blob ${sha256} (${location.size} bytes)`);
      }
      const bytes = await (packs as NonNullable<typeof packs>).readRange(location.packSha256 as string, {
        start: location.packOffset + range.start,
        end: location.packOffset + Math.min(range.end, location.size - 1),
      });
      return Readable.from([bytes]);
    },
    async delete(sha256) {
      await forget(sha256);
      corrupt.delete(sha256);
    },
    // Blobs that are their own objects, then the packed ones (known only to the index).
    async *list(): AsyncIterable<BlobInfo> {
      yield* store.list();
      if (!packs) return;
      let after = '';
      for (;;) {
        const rows = await sql.query<{ sha256: string; size: string | number; storedAt: Date | string }>(
          `SELECT "sha256", "size", "storedAt" FROM "StoredBlob" WHERE "packSha256" IS NOT NULL AND "sha256" > $1 ORDER BY "sha256" LIMIT ${LIST_PAGE}`,
          [after],
        );
        for (const row of rows) yield { sha256: row.sha256, size: Number(row.size), modifiedAt: new Date(row.storedAt) };
        if (rows.length < LIST_PAGE) return;
        after = (rows.at(-1) as { sha256: string }).sha256;
      }
    },
    async sweepIncomplete(olderThanMs) {
      return (await store.sweepIncomplete(olderThanMs)) + (packs ? await sweepUnusedPacks(packs, sql, olderThanMs) : 0);
    },
    async present(hashes) {
      const found = new Set<string>();
      for (const rows of await inPages(hashes, (page) =>
        sql.query<{ sha256: string }>(`SELECT "sha256" FROM "StoredBlob" WHERE "sha256" = ANY($1::text[])`, [page]),
      )) {
        for (const row of rows) if (!corrupt.has(row.sha256)) found.add(row.sha256);
      }
      return found;
    },
    batch() {
      if (packs) {
        const pack = packBuilder();
        const writes: Array<Promise<void>> = [];
        const flush = (): Promise<void> => {
          const blobs = pack.take();
          const write = blobs.length > 0 ? writePack(packs, sql, blobs) : Promise.resolve();
          writes.push(write);
          return write;
        };
        // Packs record their blobs as they are written: flushing them is all a commit does. A
        // failed pack fails every later flush too (its blobs were never recorded).
        let failure: { error: unknown } | undefined;
        const flushAll = async (): Promise<void> => {
          await flush().catch(() => undefined);
          const outcomes = await Promise.allSettled(writes.splice(0));
          const failed = outcomes.find((outcome) => outcome.status === 'rejected');
          if (failed) failure ??= { error: failed.reason };
          if (failure) throw failure.error;
        };
        return {
          flushWritesIndex: true,
          async put(bytes, expectedSha256) {
            if (corrupt.has(expectedSha256)) return void (await serialized(expectedSha256, () => put(Readable.from([bytes]), { expectedSha256 })));
            pack.add(bytes, expectedSha256);
            if (pack.bytes >= PACK_TARGET_BYTES) await flush();
          },
          flush: flushAll,
          commit: flushAll,
        };
      }
      // Put and not yet recorded by a commit on this store's own connection (a caller's transaction may roll back).
      let unrecorded: Array<{ sha256: string; size: number }> = [];
      const files = store.writeBatch?.();
      // One flush at a time: a blob is durable once a flush that started after its put has ended.
      let flushing: Promise<void> = Promise.resolve();
      const flushFiles = (): Promise<void> => {
        flushing = flushing.catch(() => undefined).then(() => files?.commit());
        return flushing;
      };
      const insertRows = async (on: SqlQueryable, rows: ReadonlyArray<{ sha256: string; size: number }>): Promise<void> => {
        if (rows.length === 0) return;
        // One JSON parameter: cheaper for PGlite than two arrays (see the artifact service's inserts).
        await on.query(
          `INSERT INTO "StoredBlob" ("sha256", "size") SELECT "sha256", "size" FROM jsonb_to_recordset($1::jsonb) AS t("sha256" text, "size" bigint) ON CONFLICT ("sha256") DO NOTHING`,
          [JSON.stringify(rows.map((row) => ({ sha256: row.sha256, size: row.size })))],
        );
      };
      return {
        flushWritesIndex: false,
        async put(bytes, expectedSha256) {
          if (corrupt.has(expectedSha256)) return void (await serialized(expectedSha256, () => put(Readable.from([bytes]), { expectedSha256 })));
          if (files) await files.put(bytes, expectedSha256);
          else await store.put(Readable.from([bytes]), { expectedSha256, assumeAbsent: true });
          unrecorded.push({ sha256: expectedSha256, size: bytes.length });
        },
        flush: flushFiles,
        async commit(on) {
          const rows = unrecorded.slice();
          if (on) {
            // Rows in the caller's transaction are seen only once it commits, after this returns:
            // so they go in while the files are made durable.
            const outcomes = await Promise.allSettled([flushFiles(), insertRows(on, rows)]);
            for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
            return;
          }
          // Durable before recorded: an index row never names a blob a crash could lose.
          unrecorded = [];
          try {
            await flushFiles();
            await insertRows(sql, rows);
          } catch (error) {
            unrecorded = [...rows, ...unrecorded];
            throw error;
          }
        },
      };
    },
    async *readBatch(hashes) {
      const reads = await startBatchReads(hashes);
      for (const sha256 of hashes) yield await (reads.get(sha256) as Promise<Buffer>);
    },
    async sizes(hashes) {
      const sizes = new Map<string, number>();
      const pages = await inPages(hashes, (page) =>
        sql.query<{ sha256: string; size: string | number }>(`SELECT "sha256", "size" FROM "StoredBlob" WHERE "sha256" = ANY($1::text[])`, [page]),
      );
      for (const rows of pages) for (const row of rows) if (!corrupt.has(row.sha256)) sizes.set(row.sha256, Number(row.size));
      return sizes;
    },
    corruptBlobs: () => [...corrupt.values()],
    isCorrupt: (sha256) => corrupt.has(sha256),
    storeExclusively: (sha256, size, write) =>
      serialized(sha256, async () => {
        if (database.kind === 'pglite') {
          // One process owns a PGlite database: the serializer is the whole lock.
          if (corrupt.has(sha256)) await sql.query(`DELETE FROM "StoredBlob" WHERE "sha256" = $1`, [sha256]);
          else if (await isIndexed(sha256)) return 'present';
          await write();
          await record(sha256, size);
          corrupt.delete(sha256);
          return 'stored';
        }
        // Several instances may complete uploads of the same hash at once (two pushers, or a
        // retried completion the load balancer sent elsewhere): a transaction-scoped advisory lock
        // per hash keeps them apart, and every query of the step runs on the lock's connection
        // (waiting for a second one while holding it could exhaust the pool). A failed write still
        // commits what came before it (forgetting a corrupt blob) and is thrown after.
        const outcome = await sql.transaction(async (tx): Promise<{ result: 'stored' | 'present' } | { error: unknown }> => {
          await tx.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [BLOB_LOCK_NAMESPACE, blobLockKey(sha256)]);
          if (corrupt.has(sha256)) await tx.query(`DELETE FROM "StoredBlob" WHERE "sha256" = $1`, [sha256]);
          else if (await isIndexed(sha256, tx)) return { result: 'present' };
          try {
            await write();
          } catch (error) {
            return { error };
          }
          await record(sha256, size, tx);
          return { result: 'stored' };
        });
        if ('error' in outcome) throw outcome.error;
        if (outcome.result === 'stored') corrupt.delete(sha256);
        return outcome.result;
      }),
  };
  return indexed;
};
