import { createHash } from 'node:crypto';
import type { SqlQueryable } from '@trainyard/db';
import type { BlobPackStore } from './blob-store.port';
import { corruptBlob, hashMismatch } from './hashing-stream';

/**
 * A pack is written once it holds this much (and at the end of a batch): large enough that a
 * batch of small blobs is a handful of PutObjects, small enough that a request holds little.
 */
export const PACK_TARGET_BYTES = 4 * 1024 * 1024;
/** Contiguous blobs of one pack are fetched in one ranged GET of at most this much. */
const RUN_MAX_BYTES = 4 * 1024 * 1024;

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Where a blob's bytes are: its own object (`packSha256` null) or a slice of a pack. */
export interface BlobLocation {
  sha256: string;
  size: number;
  storedAt: Date;
  packSha256: string | null;
  packOffset: number;
}

export const locateBlobs = async (sql: SqlQueryable, hashes: readonly string[]): Promise<Map<string, BlobLocation>> => {
  if (hashes.length === 0) return new Map();
  const rows = await sql.query<{
    sha256: string;
    size: string | number;
    storedAt: Date | string;
    packSha256: string | null;
    packOffset: string | number | null;
  }>(`SELECT "sha256", "size", "storedAt", "packSha256", "packOffset" FROM "StoredBlob" WHERE "sha256" = ANY($1::text[])`, [[...hashes]]);
  return new Map(
    rows.map((row) => [
      row.sha256,
      {
        sha256: row.sha256,
        size: Number(row.size),
        storedAt: new Date(row.storedAt),
        packSha256: row.packSha256,
        packOffset: Number(row.packOffset ?? 0),
      },
    ]),
  );
};

/**
 * Verified blobs waiting to go into one pack. Each blob is hashed when it is added (a mismatch
 * is refused then, as the store's own writes refuse it), so a pack only ever holds bytes that
 * hash to the names its index rows give them.
 */
export const packBuilder = () => {
  let blobs: Array<{ sha256: string; bytes: Buffer }> = [];
  let bytes = 0;
  return {
    add(data: Buffer, expectedSha256: string): void {
      const actual = sha256Of(data);
      if (actual !== expectedSha256) throw hashMismatch(expectedSha256, actual);
      blobs.push({ sha256: expectedSha256, bytes: data });
      bytes += data.length;
    },
    get bytes(): number {
      return bytes;
    },
    /** Hands over what was added so far and starts an empty pack (writes of the next one may go on meanwhile). */
    take(): Array<{ sha256: string; bytes: Buffer }> {
      const taken = blobs;
      blobs = [];
      bytes = 0;
      return taken;
    },
  };
};

/**
 * Writes `blobs` as one pack and indexes each at its offset, in one statement. A blob another
 * writer indexed meanwhile keeps its row (the first copy wins); when no blob of the pack was
 * new, the pack is deleted again at once rather than left for the orphan sweep.
 */
export const writePack = async (packs: BlobPackStore, sql: SqlQueryable, blobs: ReadonlyArray<{ sha256: string; bytes: Buffer }>): Promise<void> => {
  const offsets: number[] = [];
  let offset = 0;
  for (const blob of blobs) {
    offsets.push(offset);
    offset += blob.bytes.length;
  }
  const packSha256 = await packs.write(Buffer.concat(blobs.map((blob) => blob.bytes)));
  const inserted = await sql.query(
    `INSERT INTO "StoredBlob" ("sha256", "size", "packSha256", "packOffset")
     SELECT "sha256", "size", $4, "offset" FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t("sha256", "size", "offset")
     ON CONFLICT ("sha256") DO NOTHING RETURNING "sha256"`,
    [blobs.map((blob) => blob.sha256), blobs.map((blob) => blob.bytes.length), offsets, packSha256],
  );
  if (inserted.length === 0) await deletePackIfUnused(packs, sql, packSha256);
};

/** Deletes a pack no index row points into any more (its last blob was deleted or replaced). */
export const deletePackIfUnused = async (packs: BlobPackStore, sql: SqlQueryable, packSha256: string): Promise<void> => {
  const used = await sql.query(`SELECT 1 FROM "StoredBlob" WHERE "packSha256" = $1 LIMIT 1`, [packSha256]);
  if (used.length === 0) await packs.delete(packSha256);
};

/**
 * Packs no index row points into, older than `olderThanMs` (a pack is written before its rows,
 * so a young one may be a batch in progress): what a crash between the two leaves behind.
 */
export const sweepUnusedPacks = async (packs: BlobPackStore, sql: SqlQueryable, olderThanMs: number): Promise<number> => {
  let removed = 0;
  for await (const pack of packs.list()) {
    if (Date.now() - pack.modifiedAt.getTime() < olderThanMs) continue;
    const used = await sql.query(`SELECT 1 FROM "StoredBlob" WHERE "packSha256" = $1 LIMIT 1`, [pack.sha256]);
    if (used.length === 0) {
      await packs.delete(pack.sha256);
      removed += 1;
    }
  }
  return removed;
};

/** Requested blobs of one pack fetched in one ranged GET (with the gaps between them). */
export interface PackSpan {
  packSha256: string;
  start: number;
  /** Exclusive. */
  end: number;
  blobs: BlobLocation[];
}

/** Bytes between two requested blobs of a pack that a span reads anyway rather than make two GETs. */
const MAX_GAP_BYTES = 256 * 1024;

/**
 * Groups packed blobs into spans: per pack, by offset, neighbours (at most MAX_GAP_BYTES apart,
 * a span at most RUN_MAX_BYTES) in one ranged read, whatever order they were asked in. The
 * bytes read that nobody asked for stay within `wasteBudget` for the whole request.
 */
export const packSpans = (locations: readonly BlobLocation[], wasteBudget: number): PackSpan[] => {
  const byPack = new Map<string, BlobLocation[]>();
  for (const location of locations) {
    const list = byPack.get(location.packSha256 as string) ?? [];
    list.push(location);
    byPack.set(location.packSha256 as string, list);
  }
  const spans: PackSpan[] = [];
  let waste = 0;
  for (const [packSha256, list] of byPack) {
    let current: PackSpan | undefined;
    for (const location of [...list].sort((a, b) => a.packOffset - b.packOffset)) {
      const end = location.packOffset + location.size;
      const gap = current ? Math.max(location.packOffset - current.end, 0) : 0;
      if (current && gap <= MAX_GAP_BYTES && waste + gap <= wasteBudget && Math.max(end, current.end) - current.start <= RUN_MAX_BYTES) {
        current.blobs.push(location);
        current.end = Math.max(end, current.end);
        waste += gap;
        continue;
      }
      current = { packSha256, start: location.packOffset, end, blobs: [location] };
      spans.push(current);
    }
  }
  return spans;
};

/**
 * Reads one span and cuts out its blobs, each verified against its name: a blob whose bytes do
 * not hash right gets the store's corrupt-blob error in its place (and is reported to
 * `onCorrupt`, as a verifying read reports it); the others are served.
 */
export const readPackSpan = async (
  packs: BlobPackStore,
  span: PackSpan,
  onCorrupt: (sha256: string, actual: string) => void,
): Promise<Map<string, Buffer | Error>> => {
  // Empty blobs have no bytes to fetch (and no valid range).
  const bytes = span.end > span.start ? await packs.readRange(span.packSha256, { start: span.start, end: span.end - 1 }) : Buffer.alloc(0);
  return new Map(
    span.blobs.map((blob): [string, Buffer | Error] => {
      const slice = bytes.subarray(blob.packOffset - span.start, blob.packOffset - span.start + blob.size);
      const actual = sha256Of(slice);
      if (actual === blob.sha256 && slice.length === blob.size) return [blob.sha256, slice];
      onCorrupt(blob.sha256, actual);
      return [blob.sha256, corruptBlob(blob.sha256, actual)];
    }),
  );
};

/** One packed blob, verified (a corrupt one throws the store's corrupt-blob error). */
export const readPackedBlob = async (packs: BlobPackStore, location: BlobLocation, onCorrupt: (sha256: string, actual: string) => void): Promise<Buffer> => {
  const span = { packSha256: location.packSha256 as string, start: location.packOffset, end: location.packOffset + location.size, blobs: [location] };
  const result = (await readPackSpan(packs, span, onCorrupt)).get(location.sha256);
  if (result instanceof Error) throw result;
  return result as Buffer;
};
