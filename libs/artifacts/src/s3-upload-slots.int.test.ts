import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { sha256Hex } from '@trainyard/core';
import { startS3Server, type S3TestServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createS3BlobStore } from './s3-blob-store';
import { s3TestStoreConfig } from './test-fixtures/s3-test-store';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024;

let s3: S3TestServer;
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-upload-slots-'));
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

// s3rver only accepts its fixed credentials; the SDK's default chain reads them from the env.
process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';

/** A client's body: gives at most `allowed` bytes (all when undefined) and counts what was read from it. */
const clientBody = (bytes: Buffer, allowed?: number) => {
  const state = { delivered: 0, allowed: allowed ?? bytes.length };
  const waiting: Array<() => void> = [];
  const stream = new Readable({
    read() {
      const give = (): void => {
        if (state.delivered >= bytes.length) return void this.push(null);
        if (state.delivered >= state.allowed) return void waiting.push(give);
        const chunk = bytes.subarray(state.delivered, Math.min(state.delivered + CHUNK, state.allowed));
        state.delivered += chunk.length;
        this.push(chunk);
      };
      give();
    },
  });
  return {
    stream,
    get delivered() {
      return state.delivered;
    },
    release(): void {
      state.allowed = bytes.length;
      for (const resume of waiting.splice(0)) resume();
    },
  };
};

describe('S3 store upload slots', () => {
  it('buffers parts of at most uploadsInFlight uploads at once: the next body is not read on until a slot frees, then it completes', async () => {
    const store = createS3BlobStore({ ...s3TestStoreConfig(s3, scratch), uploadsInFlight: 2 });
    const blobs = [0, 1, 2].map(() => randomBytes(6 * MiB));
    // Two slow clients hold both slots (their bodies stall after 3 MiB); the third could send all at once.
    const bodies = [clientBody(blobs[0] as Buffer, 3 * MiB), clientBody(blobs[1] as Buffer, 3 * MiB), clientBody(blobs[2] as Buffer)];
    const put = (index: number) => store.put((bodies[index] as ReturnType<typeof clientBody>).stream, { expectedSha256: sha256Hex(blobs[index] as Buffer) });
    const puts = [put(0), put(1)];
    await vi.waitFor(() => expect(bodies.slice(0, 2).map((body) => body.delivered)).toEqual([3 * MiB, 3 * MiB]));
    puts.push(put(2));
    // It has read what decides single PutObject or multipart, and asked for a slot.
    await vi.waitFor(() => expect(bodies[2]?.delivered).toBeGreaterThan(MiB));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The third read only what decides single PutObject or multipart (a little over 1 MiB), not a part.
    expect(bodies[2]?.delivered).toBeLessThan(3 * MiB);

    bodies[0]?.release();
    expect(await puts[0]).toMatchObject({ created: true, size: 6 * MiB });
    expect(await puts[2]).toMatchObject({ created: true, size: 6 * MiB });
    bodies[1]?.release();
    expect(await puts[1]).toMatchObject({ created: true, size: 6 * MiB });
    for (const bytes of blobs) expect((await buffer(await store.read(sha256Hex(bytes)))).equals(bytes)).toBe(true);
  }, 60_000);

  it('a client that hangs up while waiting for a slot leaves the queue at once; the slot stays usable', async () => {
    const store = createS3BlobStore({ ...s3TestStoreConfig(s3, scratch), uploadsInFlight: 1 });
    const held = randomBytes(6 * MiB);
    const holder = clientBody(held, 2 * MiB);
    const holding = store.put(holder.stream, { expectedSha256: sha256Hex(held) });
    await vi.waitFor(() => expect(holder.delivered).toBe(2 * MiB));

    const dropped = randomBytes(6 * MiB);
    const dropping = clientBody(dropped);
    const failing = store.put(dropping.stream, { expectedSha256: sha256Hex(dropped) });
    await vi.waitFor(() => expect(dropping.delivered).toBeGreaterThan(MiB));
    dropping.stream.destroy(new Error('client hung up'));
    // Fails while the holder still holds the only slot: it did not wait for its turn.
    await expect(failing).rejects.toThrow(/client hung up/);
    expect(holder.delivered).toBe(2 * MiB);

    holder.release();
    expect(await holding).toMatchObject({ created: true });
    expect(await store.stat(sha256Hex(dropped))).toBeUndefined();
    // The slot is free again: a third upload completes.
    const after = randomBytes(6 * MiB);
    expect(await store.put(Readable.from([after]), { expectedSha256: sha256Hex(after) })).toMatchObject({ created: true });
  }, 60_000);

  it('an upload whose client goes silent while it holds a slot fails after bodyIdleMs and frees the slot', async () => {
    const store = createS3BlobStore({ ...s3TestStoreConfig(s3, scratch), uploadsInFlight: 1, bodyIdleMs: 400 });
    const stalled = randomBytes(6 * MiB);
    const silent = clientBody(stalled, 2 * MiB); // never released: a laptop asleep mid-upload
    const failing = store.put(silent.stream, { expectedSha256: sha256Hex(stalled) });
    await vi.waitFor(() => expect(silent.delivered).toBe(2 * MiB)); // past the first MiB: it holds the slot
    const next = randomBytes(6 * MiB);
    const waiting = store.put(Readable.from([next]), { expectedSha256: sha256Hex(next) });
    await expect(failing).rejects.toThrow(/sent nothing for 0.4 s/);
    expect(await waiting).toMatchObject({ created: true });
    expect(await store.stat(sha256Hex(stalled))).toBeUndefined();
  }, 60_000);
});
