import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import {
  postgresUnavailableReason,
  type PostgresServer,
  type S3TestServer,
  type ServerProcess,
  startPostgresServer,
  startS3Server,
  startServerProcess,
} from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServerToken, flipByteInBucket, storedBlobLocation } from '../test-support/sync-fixtures';

/**
 * Issue #17, against real server processes (a crash is an exit, not a test-runner warning):
 * a local server on its disk, and a shared server on PostgreSQL + S3 (s3rver).
 *  1. clients hanging up mid-upload (incl. concurrent ones of the same hash) do not kill it;
 *  2. a corrupt blob is never served as a complete 200/206, and is reported;
 * 10. a chunked body cannot get past the size limits.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LIMIT = 1024 * 1024; // TRAINYARD_MAX_BLOB_BYTES for both servers
const JSON_LIMIT = 64 * 1024; // TRAINYARD_MAX_BODY_BYTES

interface Target {
  process: ServerProcess;
  url: string;
  port: number;
  token: string;
  client: TrainyardClient;
  /** Flips one byte of the stored blob (on disk, or the object in the bucket). */
  tamper(hash: string): Promise<void>;
  /** Temp files / unfinished multipart uploads / stray objects left by interrupted writes. */
  leftovers(): Promise<string[]>;
}

/** What a raw socket got back: the status, headers and how many body bytes arrived before the server closed. */
interface RawExchange {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The server closed (or reset) the connection. */
  closed: boolean;
}

const headLines = (target: Target, method: string, path: string, extra: Record<string, string>): string =>
  [
    `${method} ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${target.port}`,
    `Authorization: Bearer ${target.token}`,
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');

/** Sends `payload` on a raw socket and collects everything until the server closes it (or `waitMs`). */
const exchange = (target: Target, payload: Buffer, waitMs = 10_000): Promise<RawExchange> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = connect(target.port, '127.0.0.1', () => socket.write(payload));
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split < 0 ? all.length : split).toString();
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4), closed });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the 413 is expected
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });

/** A PUT that sends its headers and a few bytes, then resets the connection (RST) or just destroys it. */
const hangUpMidUpload = (target: Target, hash: string, how: 'reset' | 'destroy', chunked: boolean): Promise<void> =>
  new Promise((resolve) => {
    const socket = connect(target.port, '127.0.0.1', () => {
      const framing: Record<string, string> = chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': '500000' };
      const head = headLines(target, 'PUT', `/blobs/sha256/${hash}`, { 'Content-Type': 'application/octet-stream', ...framing });
      const bytes = randomBytes(3000);
      socket.write(Buffer.concat([Buffer.from(head), chunked ? Buffer.concat([Buffer.from('bb8\r\n'), bytes, Buffer.from('\r\n')]) : bytes]), () =>
        setTimeout(() => {
          if (how === 'reset') socket.resetAndDestroy();
          else socket.destroy();
          resolve();
        }, 15),
      );
    });
    socket.on('error', () => resolve());
  });

const putBlob = (target: Target, data: Buffer) =>
  fetch(`${target.url}/blobs/sha256/${sha256Hex(data)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/octet-stream' },
    body: data,
  });
const getBlob = (target: Target, hash: string, range?: string) =>
  fetch(`${target.url}/blobs/sha256/${hash}`, { headers: { authorization: `Bearer ${target.token}`, ...(range ? { range } : {}) } });

const chunkedBody = (data: Buffer, chunkSize = 16 * 1024): Buffer => {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    const chunk = data.subarray(offset, offset + chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  return Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
};

const waitUntil = (check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> =>
  vi.waitFor(
    async () => {
      if (!(await check())) throw new Error('condition not met in time');
    },
    { timeout: timeoutMs, interval: 100 },
  );

const suite = (name: string, setup: () => Promise<Target>, options: { imports: boolean }) => {
  let target: Target;
  beforeAll(async () => {
    target = await setup();
  }, 120_000);
  afterAll(async () => {
    target?.process.child.kill('SIGTERM');
    await target?.process.exited;
  });

  describe(name, () => {
    it('survives 20 uploads reset or dropped mid-body (same hash, concurrently); still serves; leaves nothing behind', async () => {
      const data = randomBytes(200_000);
      const hash = sha256Hex(data);
      const other = sha256Hex(randomBytes(32));
      const attempts: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) attempts.push(hangUpMidUpload(target, i % 3 === 0 ? other : hash, i % 2 === 0 ? 'reset' : 'destroy', i % 4 === 1));
      await Promise.all(attempts);
      await sleep(500); // a fixed wait on purpose: the server gets time to crash or leave files behind

      expect(target.process.child.exitCode).toBeNull();
      expect((await target.client.system.health.query()).status).toBe('ok');
      const stored = await putBlob(target, data);
      expect(stored.status).toBe(201);
      const read = await getBlob(target, hash);
      expect(Buffer.from(await read.arrayBuffer()).equals(data)).toBe(true);
      expect((await fetch(`${target.url}/blobs/sha256/${other}`, { method: 'HEAD', headers: { authorization: `Bearer ${target.token}` } })).status).toBe(404);
      await waitUntil(async () => (await target.leftovers()).length === 0);
      expect(target.process.output()).not.toMatch(/uncaught error; exiting/);
    }, 60_000);

    it('never serves a corrupt blob as complete: full and Range reads end short and the connection is cut; the blob is reported corrupt', async () => {
      const data = randomBytes(300_000);
      const hash = sha256Hex(data);
      expect((await putBlob(target, data)).status).toBe(201);
      const artifact = await target.client.artifacts.register.mutate({ sha256: hash, name: 'weights.bin', type: 'model' });
      expect((await target.client.artifacts.get.query({ id: artifact.id })).corrupt).toBe(false);
      await target.tamper(hash);

      // Raw socket, full read: fewer bytes than Content-Length, then the server closes.
      const full = await exchange(target, Buffer.from(headLines(target, 'GET', `/blobs/sha256/${hash}`, {})));
      expect(full.status).toBe(200);
      expect(Number(full.headers['content-length'])).toBe(data.length);
      expect(full.body.length).toBeLessThan(data.length);
      expect(full.closed).toBe(true);

      // Now known corrupt: refused before a byte is sent (a client can tell it from a dropped connection).
      const again = await getBlob(target, hash);
      expect(again.status).toBe(422);
      expect(await again.json()).toMatchObject({ error: { code: 'INTEGRITY', message: expect.stringMatching(/corrupt/) } });

      const health = await target.client.system.health.query();
      expect(health.corruptBlobs.count).toBe(1);
      expect(health.corruptBlobs.items.map((item) => item.sha256)).toEqual([hash]);
      expect((await target.client.artifacts.get.query({ id: artifact.id })).corrupt).toBe(true);
      expect(target.process.output()).toMatch(new RegExp(`corrupt blob detected on read.*${hash}|${hash}.*corrupt blob detected on read`));

      // A second blob, first read by Range (the range lies at the start; the tampered byte is after it): fetch rejects.
      const second = randomBytes(300_000);
      const secondHash = sha256Hex(second);
      expect((await putBlob(target, second)).status).toBe(201);
      await target.tamper(secondHash);
      const ranged = await getBlob(target, secondHash, 'bytes=0-99');
      expect(ranged.status).toBe(206);
      await expect(ranged.arrayBuffer()).rejects.toThrow();
      await waitUntil(async () => (await target.client.system.health.query()).corruptBlobs.count === 2);

      // Uploading the right bytes again repairs it.
      expect((await putBlob(target, second)).status).toBe(201);
      const repaired = await getBlob(target, secondHash);
      expect(repaired.status).toBe(200);
      expect(Buffer.from(await repaired.arrayBuffer()).equals(second)).toBe(true);
      expect((await target.client.system.health.query()).corruptBlobs.items.map((item) => item.sha256)).toEqual([hash]);
      expect(target.process.child.exitCode).toBeNull();
    }, 60_000);

    it('blob batches: uploads dropped mid-body do not take it down or leave anything; a corrupt blob in a batch read is cut short, never served whole', async () => {
      const blobs = Array.from({ length: 6 }, () => randomBytes(20_000));
      const manifest = Buffer.from(`${JSON.stringify({ blobs: blobs.map((bytes) => ({ sha256: sha256Hex(bytes), size: bytes.length })) })}\n`);
      const body = Buffer.concat([manifest, ...blobs]);
      const head = headLines(target, 'POST', '/blob-batches', { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
      // 10 batches cut off part way through their blobs (reset or plain close).
      await Promise.all(
        Array.from(
          { length: 10 },
          (_unused, index) =>
            new Promise<void>((resolve) => {
              const socket = connect(target.port, '127.0.0.1', () => {
                socket.write(Buffer.concat([Buffer.from(head), body.subarray(0, manifest.length + 30_000 + index * 1_000)]), () =>
                  setTimeout(() => {
                    if (index % 2 === 0) socket.resetAndDestroy();
                    else socket.destroy();
                    resolve();
                  }, 15),
                );
              });
              socket.on('error', () => resolve());
            }),
        ),
      );
      await sleep(500); // a fixed wait on purpose: the server gets time to crash or leave files behind
      expect(target.process.child.exitCode).toBeNull();
      expect(target.process.output()).not.toMatch(/uncaught error; exiting/);
      await waitUntil(async () => (await target.leftovers()).length === 0);

      // The whole batch still goes in, each blob verified; then the batch read serves them in order.
      const stored = await fetch(`${target.url}/blob-batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/octet-stream' },
        body,
      });
      expect(stored.status).toBe(200);
      const hashes = blobs.map((bytes) => sha256Hex(bytes));
      const readBatch = (): Promise<Response> =>
        fetch(`${target.url}/blob-batches/read`, {
          method: 'POST',
          headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ hashes }),
        });
      expect(Buffer.from(await (await readBatch()).arrayBuffer()).equals(body.subarray(manifest.length))).toBe(true);

      // One blob tampered in the store: the answer ends short of its Content-Length, the connection is cut.
      await target.tamper(hashes[3] as string);
      const json = Buffer.from(JSON.stringify({ hashes }));
      const cut = await exchange(
        target,
        Buffer.concat([
          Buffer.from(headLines(target, 'POST', '/blob-batches/read', { 'Content-Type': 'application/json', 'Content-Length': String(json.length) })),
          json,
        ]),
      );
      expect(cut.status).toBe(200);
      expect(Number(cut.headers['content-length'])).toBe(blobs.length * 20_000);
      expect(cut.body.length).toBeLessThanOrEqual(3 * 20_000);
      expect(cut.closed).toBe(true);
      // Now known corrupt: the next batch read is refused before a byte is sent.
      const refused = await readBatch();
      expect(refused.status).toBe(422);
      expect(target.process.child.exitCode).toBeNull();
    }, 60_000);

    it('stops a chunked blob upload over TRAINYARD_MAX_BLOB_BYTES with 413 and stores nothing', async () => {
      const data = randomBytes(LIMIT * 3);
      const hash = sha256Hex(data);
      const head = headLines(target, 'PUT', `/blobs/sha256/${hash}`, { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' });
      const answer = await exchange(target, Buffer.concat([Buffer.from(head), chunkedBody(data)]));
      expect(answer.status).toBe(413);
      expect(answer.headers['connection']).toBe('close');
      expect(answer.closed).toBe(true);
      expect((await fetch(`${target.url}/blobs/sha256/${hash}`, { method: 'HEAD', headers: { authorization: `Bearer ${target.token}` } })).status).toBe(404);
      await waitUntil(async () => (await target.leftovers()).length === 0);
      // Under the limit, chunked still works.
      const small = randomBytes(LIMIT / 2);
      const ok = await exchange(
        target,
        Buffer.concat([
          Buffer.from(
            headLines(target, 'PUT', `/blobs/sha256/${sha256Hex(small)}`, {
              'Content-Type': 'application/octet-stream',
              'Transfer-Encoding': 'chunked',
              Connection: 'close',
            }),
          ),
          chunkedBody(small),
        ]),
      );
      expect(ok.status).toBe(201);
    }, 60_000);

    it('tRPC enforces TRAINYARD_MAX_BODY_BYTES on a chunked JSON body', async () => {
      const json = Buffer.from(JSON.stringify({ json: { name: 'x'.repeat(JSON_LIMIT * 2) } }));
      const head = headLines(target, 'POST', '/trpc/models.createVersion', {
        'Content-Type': 'application/json',
        'Transfer-Encoding': 'chunked',
        Connection: 'close',
      });
      const answer = await exchange(target, Buffer.concat([Buffer.from(head), chunkedBody(json)]));
      expect(answer.status).toBe(413);
    });

    it.runIf(options.imports)(
      'stops a chunked import at the limit with 413 (nothing past the limit is read; what came before is kept, as in any cut-off import)',
      async () => {
        const line = (i: number) =>
          `${JSON.stringify({ aiText: `Furthermore, item ${i} demonstrates a comprehensive approach.`, humanizedText: `Item ${i} takes a broad look.`, detectionScoreBefore: 0.9, detectionScoreAfter: 0.1, sourceModel: 'm', sourceProvider: 'p', language: 'en', tags: [] })}\n`;
        const body = Buffer.from(Array.from({ length: 40_000 }, (_, i) => line(i)).join(''));
        expect(body.length).toBeGreaterThan(LIMIT * 3);
        const head = headLines(target, 'POST', '/import/training-data', { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' });
        // Small chunks: the limit trips in the first batch the importer would write.
        const answer = await exchange(target, Buffer.concat([Buffer.from(head), chunkedBody(body, 4096)]));
        expect(answer.status).toBe(413);
        expect(answer.closed).toBe(true);
        expect(JSON.parse(answer.body.toString())).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' }, report: { aborted: true } });
        const { report } = JSON.parse(answer.body.toString()) as { report: { imported: number } };
        const linesUnderLimit = body.subarray(0, LIMIT).toString().split('\n').length - 1;
        expect(report.imported).toBeLessThanOrEqual(linesUnderLimit);
        const stored = await target.client.trainingData.list.query({ limit: 100 });
        expect(stored.items.length).toBe(Math.min(report.imported, 100));
      },
      60_000,
    );
  });
};

// ── A local server: PGlite, blobs on its disk ────────────────────────────────────────────
const localDir = mkdtempSync(join(tmpdir(), 'trainyard-hardening-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

suite(
  'local server, filesystem store',
  async () => {
    const process = await startServerProcess({
      TRAINYARD_DATA_DIR: localDir,
      TRAINYARD_DEMO_DATA: 'off',
      TRAINYARD_MAX_BLOB_BYTES: String(LIMIT),
      TRAINYARD_MAX_BODY_BYTES: String(JSON_LIMIT),
    });
    const port = Number(new URL(process.url).port);
    return {
      process,
      url: process.url,
      port,
      token: process.token,
      client: createTrainyardClient({ url: process.url, token: process.token }),
      async tamper(hash) {
        const path = join(localDir, 'blobs', 'sha256', hash.slice(0, 2), hash);
        const bytes = readFileSync(path);
        const at = Math.min(200_000, bytes.length - 1); // inside small blobs too
        bytes[at] = (bytes[at] ?? 0) ^ 0xff;
        writeFileSync(path, bytes);
      },
      async leftovers() {
        const tmp = join(localDir, 'blobs', 'tmp');
        // Files only: a pull's batch writes leave their (empty) prefix directories under tmp/batch.
        return existsSync(tmp)
          ? readdirSync(tmp, { recursive: true, withFileTypes: true })
              .filter((entry) => !entry.isDirectory())
              .map((entry) => entry.name)
          : [];
      },
    };
  },
  { imports: true },
);

// ── A shared server: PostgreSQL + S3 (s3rver), API tokens ──────────────────────────────
const skip = postgresUnavailableReason();
let postgres: PostgresServer | undefined;
let s3: S3TestServer | undefined;
afterAll(async () => {
  await s3?.stop();
  await postgres?.stop();
});

describe.skipIf(skip)(`shared server${skip ? ` — skipped: ${skip}` : ''}`, () => {
  const sharedDir = mkdtempSync(join(tmpdir(), 'trainyard-hardening-shared-'));
  afterAll(() => rmSync(sharedDir, { recursive: true, force: true }));
  suite(
    'shared server, S3 store (s3rver) and PostgreSQL',
    async () => {
      postgres = await startPostgresServer();
      s3 = await startS3Server();
      const databaseUrl = await postgres.createDatabase('hardening');
      const bucket = s3;
      const process = await startServerProcess({
        TRAINYARD_DATA_DIR: sharedDir,
        DATABASE_URL: databaseUrl,
        ARTIFACT_STORE: `s3://${bucket.bucket}/shared`,
        S3_ENDPOINT: bucket.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: bucket.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: bucket.credentials.secretAccessKey,
        TRAINYARD_MAX_BLOB_BYTES: String(LIMIT),
        TRAINYARD_MAX_BODY_BYTES: String(JSON_LIMIT),
      });
      // The migrations ran at start; tokens are made straight in the database, as `trainyard tokens create` does.
      const { token } = await createServerToken(databaseUrl, 'hardening', 'admin');
      const port = Number(new URL(process.url).port);
      return {
        process,
        url: process.url,
        port,
        token,
        client: createTrainyardClient({ url: process.url, token }),
        async tamper(hash) {
          // Its own object, or its slice of a pack (blobs sent in a batch).
          const location = await storedBlobLocation(databaseUrl, hash);
          // Inside small blobs too.
          await flipByteInBucket(bucket, `shared/${location.key}`, location.offset + Math.min(200_000, location.size - 1));
        },
        async leftovers() {
          const keys = await bucket.listKeys();
          const spool = join(sharedDir, 'spool');
          return [
            ...bucket.pendingMultipartUploads(),
            ...(existsSync(spool) ? readdirSync(spool) : []),
            ...keys.filter((key) => !/^shared\/(sha256|packs)\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(key)),
          ];
        },
      };
    },
    { imports: false },
  );
});
