import type { Readable } from 'node:stream';

export interface PutResult {
  sha256: string;
  size: number;
  /** false when the blob already existed (same content = one blob). */
  created: boolean;
}

export interface BlobInfo {
  sha256: string;
  size: number;
  modifiedAt: Date;
}

/** Inclusive byte range, as in HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type BlobSource = Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  expectedSha256?: string;
  /**
   * The caller already knows the blob is absent (an index said so): skip the existence check.
   * Writing an existing blob again is harmless (same key, same bytes), only slower.
   */
  assumeAbsent?: boolean;
}

/**
 * Many small blobs stored together in one object, a pack (issue #24): S3 answers each PutObject
 * in a round trip and with per-request work, so a push of 1 000 small blobs as 1 000 objects is
 * bound by request count, not bytes. A pack gets a new random name (64 hex characters) when it
 * is written, never reused; which blob sits where in which pack is the blob index's business
 * (`StoredBlob`), not the store's. Each blob is verified by its own hash whenever it is read.
 */
export interface BlobPackStore {
  /** Writes one pack under a new name, which it returns. */
  write(bytes: Buffer): Promise<string>;
  /** Bytes `range` of a pack, NOT verified: the caller verifies each blob it cuts out. */
  readRange(packSha256: string, range: ByteRange): Promise<Buffer>;
  delete(packSha256: string): Promise<void>;
  list(): AsyncIterable<BlobInfo>;
}

/**
 * Content-addressed blob storage. Keys are always our own SHA-256 of the bytes; nothing a
 * client sends ever becomes a path or an object key. Adapters: filesystem and S3.
 */
export interface BlobStore {
  readonly kind: 'filesystem' | 's3';
  /** Present where packing small blobs pays (S3); the filesystem stores every blob as its own file. */
  readonly packs?: BlobPackStore;
  /**
   * Streams the bytes in, hashing them. With `expectedSha256`, a mismatch is rejected and
   * nothing is kept. Never leaves a partial blob under its final name.
   */
  put(source: BlobSource, options?: PutOptions): Promise<PutResult>;
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /**
   * Streams the blob (or a range of it) while verifying the whole blob's hash; the stream
   * fails with an INTEGRITY error instead of ending normally when the bytes are wrong.
   */
  read(sha256: string, range?: ByteRange): Promise<Readable>;
  /**
   * The bytes of one range, NOT verified — for sending to a receiver that verifies the whole
   * blob itself (a sync push: the shared server reads every upload back through SHA-256), so each
   * part is read once, and only the parts still to send.
   */
  readRangeUnverified(sha256: string, range: ByteRange): Promise<Readable>;
  delete(sha256: string): Promise<void>;
  list(): AsyncIterable<BlobInfo>;
  /** Removes leftovers of interrupted writes older than `olderThanMs`; returns how many. */
  sweepIncomplete(olderThanMs: number): Promise<number>;
  /**
   * Present where many small in-memory blobs are cheaper written together (the filesystem):
   * each `put` verifies and stores one blob; what makes them durable once per batch rather than
   * once per blob (the directories' fsync) waits for `commit`, which must come before the blobs
   * are recorded anywhere.
   */
  writeBatch?(): BlobStoreWriteBatch;
}

export interface BlobStoreWriteBatch {
  /** Verifies `bytes` against `expectedSha256` (refused on a mismatch, nothing kept) and stores them. */
  put(bytes: Buffer, expectedSha256: string): Promise<void>;
  /** Makes every blob put so far durable. */
  commit(): Promise<void>;
}
