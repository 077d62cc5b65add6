import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '@trainyard/core';
import type { BlobStore } from './blob-store.port';
import { type CompletedPart, type MultipartTarget, partCount, type UploadSessionRef } from './multipart-target.port';

/**
 * Parts as files `<dir>/<session id>/<n>.part` (names from our own ids and numbers only).
 * Completion streams them in order into the blob store, which checks the whole hash.
 */
export const createFsMultipartTarget = (dir: string, blobs: BlobStore): MultipartTarget => {
  const sessionDir = (session: UploadSessionRef): string => join(dir, session.id);
  const partPath = (session: UploadSessionRef, n: number): string => join(sessionDir(session), `${n}.part`);

  return {
    kind: 'filesystem',
    start: async () => ({ uploadId: null }),
    partUrl: async () => null,

    async receivePart(session, n, body) {
      const expectedCount = partCount(session.size, session.partSize);
      if (n < 1 || n > expectedCount) throw new DomainError('INVALID_ARGUMENT', `Part ${n} is outside 1..${expectedCount}`);
      const expectedBytes = n < expectedCount ? session.partSize : session.size - session.partSize * (expectedCount - 1);
      await mkdir(sessionDir(session), { recursive: true });
      const temp = `${partPath(session, n)}.${process.pid}.${Date.now()}.tmp`;
      const hash = createHash('sha256');
      let bytes = 0;
      const handle = await open(temp, 'wx', 0o600);
      try {
        await pipeline(
          body,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              bytes += chunk.length;
              if (bytes > expectedBytes) throw new DomainError('INVALID_ARGUMENT', `Part ${n} is longer than ${expectedBytes} bytes`);
              hash.update(chunk);
              yield chunk;
            }
          },
          handle.createWriteStream(),
        );
        if (bytes !== expectedBytes) throw new DomainError('INVALID_ARGUMENT', `Part ${n} must be ${expectedBytes} bytes, got ${bytes}`);
        await rename(temp, partPath(session, n));
        return hash.digest('hex');
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },

    async complete(session, parts: CompletedPart[]) {
      const count = partCount(session.size, session.partSize);
      const numbers = new Set(parts.map((part) => part.number));
      for (let n = 1; n <= count; n++) {
        if (!numbers.has(n)) throw new DomainError('FAILED_PRECONDITION', `Part ${n} of ${count} has not been uploaded`);
      }
      // Pulled, not pushed: nothing is read before the store consumes it, a read error fails
      // the store's pipeline, and a store that gives up early closes the part files.
      const joined = Readable.from(
        (async function* () {
          for (let n = 1; n <= count; n++) yield* createReadStream(partPath(session, n));
        })(),
      );
      await blobs.put(joined, { expectedSha256: session.sha256 });
      await rm(sessionDir(session), { recursive: true, force: true });
    },

    async abort(session) {
      await rm(sessionDir(session), { recursive: true, force: true });
    },
  };
};
