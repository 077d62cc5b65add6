import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '@trainyard/core';
import type { ByteRange } from './blob-store.port';

export const hashMismatch = (expected: string, actual: string): DomainError =>
  new DomainError('INTEGRITY', `Content hash mismatch: expected ${expected}, got ${actual}`, { expected, actual });

export const corruptBlob = (sha256: string, actual: string): DomainError =>
  new DomainError('INTEGRITY', `Blob ${sha256} is corrupt: its bytes hash to ${actual}`, { sha256, actual, corrupt: true });

/** Passes bytes through unchanged while hashing and counting them. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  // Not named `size`: lib-storage reads `Body.size` as the body length.
  byteCount = 0;
  private digestHex: string | undefined;

  constructor(private readonly expectedSha256?: string) {
    super();
  }

  get sha256(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.byteCount += chunk.length;
    done(null, chunk);
  }

  // Failing in flush makes the whole pipeline fail before the destination is finalised.
  override _flush(done: TransformCallback): void {
    if (this.expectedSha256 && this.sha256 !== this.expectedSha256) return done(hashMismatch(this.expectedSha256, this.sha256));
    done();
  }
}

/**
 * Reads a whole blob, verifying its hash, and forwards only the requested range. A range
 * read still hashes every byte: a corrupt blob is never served silently, even in parts.
 * The last chunk (of the range) is held back until the whole blob has hashed right, so a
 * reader of a corrupt blob never receives every byte: the stream fails one chunk short, and
 * an HTTP client sees fewer bytes than Content-Length.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private offset = 0;
  private held: Buffer | undefined;

  constructor(
    private readonly sha256: string,
    private readonly range?: ByteRange,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    const start = this.offset;
    this.offset += chunk.length;
    const from = this.range ? Math.max(this.range.start - start, 0) : 0;
    const to = this.range ? Math.min(this.range.end + 1 - start, chunk.length) : chunk.length;
    if (from >= to) return done();
    const previous = this.held;
    this.held = chunk.subarray(from, to);
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.sha256) {
      this.held = undefined;
      return done(corruptBlob(this.sha256, actual));
    }
    done(null, this.held);
  }
}
