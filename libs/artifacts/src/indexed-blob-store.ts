import type { Readable } from 'node:stream';
import { isDomainError } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import type { BlobStore, PutResult } from './blob-store.port';

/** A blob whose stored bytes were found not to hash to its address when read. */
export interface CorruptBlob {
  sha256: string;
  /** What the stored bytes hash to instead. */
  actual: string;
  detectedAt: Date;
}

/** A blob store that also answers "which of these hashes are stored?" in one query. */
export interface IndexedBlobStore extends BlobStore {
  present(hashes: readonly string[]): Promise<Set<string>>;
  /** The recorded size of each of `hashes` that is stored (and not known corrupt), in one query. */
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
   * Writes of many small blobs whose index rows go in together: `put` stores (verifying against
   * `expectedSha256`, as `put` does) and `commit` records every blob stored so far in one
   * statement (call it also when a later write failed: what was verified counts). For blobs the
   * caller found absent with `present`; a blob known corrupt takes the ordinary `put`.
   */
  batch(): BlobWriteBatch;
}

export interface BlobWriteBatch {
  put(source: Readable, expectedSha256: string): Promise<PutResult>;
  commit(): Promise<void>;
}

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
  const put: BlobStore['put'] = async (source, options = {}) => {
    // Replacing a corrupt blob: the store keeps an existing name, so the bad copy goes first.
    if (options.expectedSha256 !== undefined && corrupt.has(options.expectedSha256)) {
      await sql.query(`DELETE FROM "StoredBlob" WHERE "sha256" = $1`, [options.expectedSha256]);
      await store.delete(options.expectedSha256);
      corrupt.delete(options.expectedSha256);
    }
    // A hash the index does not know is almost always new: let the store skip its own
    // existence check (a HEAD request per blob on S3). "Created" then comes from the index.
    const unknown = options.expectedSha256 !== undefined && !(await isIndexed(options.expectedSha256));
    const result = await store.put(source, unknown ? { ...options, assumeAbsent: true } : options);
    const recorded = await record(result.sha256, result.size);
    return unknown ? { ...result, created: recorded } : result;
  };
  return {
    kind: store.kind,
    put: (source, options = {}) =>
      options.expectedSha256 === undefined ? put(source, options) : serialized(options.expectedSha256, () => put(source, options)),
    stat: (sha256) => store.stat(sha256),
    async read(sha256, range) {
      if (corrupt.has(sha256)) {
        // Known corrupt: verify the whole blob before anything is sent, so the caller gets an
        // error it can tell apart from a dropped connection (a repaired file is served again).
        await drain(watched(sha256, await store.read(sha256)));
        corrupt.delete(sha256);
      }
      return watched(sha256, await store.read(sha256, range));
    },
    readRangeUnverified: (sha256, range) => store.readRangeUnverified(sha256, range),
    async delete(sha256) {
      await sql.query(`DELETE FROM "StoredBlob" WHERE "sha256" = $1`, [sha256]);
      await store.delete(sha256);
      corrupt.delete(sha256);
    },
    list: () => store.list(),
    sweepIncomplete: (olderThanMs) => store.sweepIncomplete(olderThanMs),
    async present(hashes) {
      if (hashes.length === 0) return new Set();
      const rows = await sql.query<{ sha256: string }>(`SELECT "sha256" FROM "StoredBlob" WHERE "sha256" = ANY($1::text[])`, [[...hashes]]);
      return new Set(rows.map((row) => row.sha256).filter((sha256) => !corrupt.has(sha256)));
    },
    batch() {
      let pending: Array<{ sha256: string; size: number }> = [];
      return {
        async put(source, expectedSha256) {
          if (corrupt.has(expectedSha256)) return serialized(expectedSha256, () => put(source, { expectedSha256 }));
          const result = await store.put(source, { expectedSha256, assumeAbsent: true });
          pending.push({ sha256: result.sha256, size: result.size });
          return result;
        },
        async commit() {
          const rows = pending;
          pending = [];
          if (rows.length === 0) return;
          await sql.query(`INSERT INTO "StoredBlob" ("sha256", "size") SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT ("sha256") DO NOTHING`, [
            rows.map((row) => row.sha256),
            rows.map((row) => row.size),
          ]);
        },
      };
    },
    async sizes(hashes) {
      if (hashes.length === 0) return new Map();
      const rows = await sql.query<{ sha256: string; size: string | number }>(`SELECT "sha256", "size" FROM "StoredBlob" WHERE "sha256" = ANY($1::text[])`, [
        [...hashes],
      ]);
      return new Map(rows.filter((row) => !corrupt.has(row.sha256)).map((row) => [row.sha256, Number(row.size)]));
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
};
