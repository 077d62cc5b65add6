import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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
  startTcpProxy,
  type TcpProxy,
} from '@trainyard/test-services';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken, createVersionWithFiles, randomBlob, waitForEntry } from './test-support/sync-fixtures';

const skip = postgresUnavailableReason();
const MiB = 1024 * 1024;

let postgres: PostgresServer;
let s3: S3TestServer;
let s3Proxy: TcpProxy;
let s3Server: SharedServer;
let s3ServerProxy: TcpProxy;
let diskServer: SharedServer;
let diskProxy: TcpProxy;
let s3Token: string;
let diskToken: string;
let laptopDir: string;
let laptop: ServerProcess;
let client: TrainyardClient;

/** The laptop is a real server process, so it can be SIGKILLed mid-push and started again. */
const startLaptop = async (): Promise<void> => {
  laptop = await startServerProcess({
    TRAINYARD_DATA_DIR: laptopDir,
    TRAINYARD_DEMO_DATA: 'off',
    TRAINYARD_SYNC_RETRY_BASE_MS: '50',
    TRAINYARD_SYNC_RETRY_MAX_MS: '400',
  });
  client = createTrainyardClient({ url: laptop.url, token: laptop.token });
};

const waitUntil = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> =>
  vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 50 },
  );

const blobOnServer = async (shared: { url: string }, token: string, hash: string): Promise<string> => {
  const response = await fetch(`${shared.url}/blobs/sha256/${hash}`, { headers: { authorization: `Bearer ${token}` } });
  return sha256Hex(Buffer.from(await response.arrayBuffer()));
};

describe.skipIf(skip)(`sync under faults: dropped connections, killed and restarted processes, offline${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    s3 = await startS3Server();
    // The server reaches S3 through a proxy, and so do the presigned part URLs it hands out.
    s3Proxy = await startTcpProxy(Number(new URL(s3.endpoint).port));
    const s3Db = await postgres.createDatabase('shared_s3');
    s3Server = await startSharedServer({ databaseUrl: s3Db, s3: { endpoint: `http://127.0.0.1:${s3Proxy.port}`, bucket: s3.bucket } });
    s3Token = (await createServerToken(s3Db, 'laptop', 'write')).token;
    const diskDb = await postgres.createDatabase('shared_disk');
    diskServer = await startSharedServer({ databaseUrl: diskDb });
    diskToken = (await createServerToken(diskDb, 'laptop', 'write')).token;
    diskProxy = await startTcpProxy(diskServer.port);
    laptopDir = mkdtempSync(join(tmpdir(), 'trainyard-laptop-'));
    await startLaptop();
    await client.sync.addRemote.mutate({ name: 's3team', url: s3Server.url, token: s3Token });
    // The same server through a proxy that can cut the laptop's own connections to it (small blobs go there, not to S3).
    s3ServerProxy = await startTcpProxy(s3Server.port);
    await client.sync.addRemote.mutate({ name: 's3teamproxied', url: `http://127.0.0.1:${s3ServerProxy.port}`, token: s3Token });
    await client.sync.addRemote.mutate({ name: 'diskteam', url: `http://127.0.0.1:${diskProxy.port}`, token: diskToken });
  }, 120_000);
  afterAll(async () => {
    laptop?.child.kill('SIGKILL');
    await laptop?.exited;
    await s3Server?.stop();
    await diskServer?.stop();
    await s3Proxy?.close();
    await s3ServerProxy?.close();
    await diskProxy?.close();
    await s3?.stop();
    await postgres?.stop();
    if (laptopDir) rmSync(laptopDir, { recursive: true, force: true });
  });

  it('connection dropped twice mid-upload: resumes from the last completed part, hashes match, no duplicates, no orphan uploads', async () => {
    // 5 parts of 16 MiB, at most 4 in flight: past 66 MiB sent, part 5 is under way, so a part
    // has completed before the first cut, and no part is left to start. The second cut comes
    // 8 MiB into the next attempt, which sends at least one whole 16 MiB part again.
    const bytes = randomBlob(80 * MiB);
    const version = await createVersionWithFiles(laptop, client, 'dropped', [{ name: 'model.bin', bytes }]);
    const start = s3Proxy.uploadedBytes();
    s3Proxy.dropAt([start + 66 * MiB, start + 74 * MiB]);
    const push = await client.sync.push.mutate({ remote: 's3team', model: 'dropped', ref: { version } });
    const done = await waitForEntry(client, push.id, ['done', 'failed'], 120_000);
    expect(done).toMatchObject({ state: 'done' });
    expect(done.attempts).toBeGreaterThanOrEqual(3);
    // Resumed, not restarted: starting over would send 66 + 8 + 80 = 154 MiB; resuming sends
    // the whole blob again only if no part had completed.
    expect(s3Proxy.uploadedBytes() - start).toBeLessThan(150 * MiB);
    expect(await blobOnServer(s3Server, s3Token, sha256Hex(bytes))).toBe(sha256Hex(bytes));
    expect(s3.pendingMultipartUploads()).toEqual([]);
    const keys = await s3.listKeys();
    expect(keys.filter((key) => key.endsWith(sha256Hex(bytes)))).toHaveLength(1);
    expect(keys.filter((key) => key.includes('/uploads/'))).toEqual([]);
  }, 180_000);

  it('2 000 small blobs, connection dropped twice mid-push: resumes without sending them all again, nothing duplicated, every hash verified', async () => {
    const files = Array.from({ length: 2_000 }, (_unused, index) => ({ name: `shard-${index}.bin`, bytes: randomBlob(16 * 1024) }));
    const version = await createVersionWithFiles(laptop, client, 'many-dropped', files, undefined, 16);
    const total = files.length * 16 * 1024;
    // What s3rver holds on its disk (in this process it cannot list past 1 000 keys: its continuation
    // tokens need OpenSSL's legacy DES).
    const storedObjects = (): string[] => (readdirSync(s3.directory, { recursive: true }) as string[]).filter((path) => path.endsWith('._S3rver_object'));
    const objectsBefore = new Set(storedObjects());
    const start = s3ServerProxy.uploadedBytes();
    // Cut at 45 % and 90 % of the bytes: starting over each time would send about 2× the blobs.
    s3ServerProxy.dropAt([start + 0.45 * total, start + 0.9 * total]);
    const push = await client.sync.push.mutate({ remote: 's3teamproxied', model: 'many-dropped', ref: { version } });
    const done = await waitForEntry(client, push.id, ['done', 'failed'], 120_000);
    expect(done).toMatchObject({ state: 'done' });
    expect(done.attempts).toBeGreaterThanOrEqual(3);
    // Resumed: each attempt negotiated again and sent only what was not stored yet. A drop loses
    // at most the batches in flight (4 of ~1 MiB); starting over would send about 1.9× the blobs.
    expect(s3ServerProxy.uploadedBytes() - start).toBeLessThan(1.5 * total);
    // Nothing duplicated: the small blobs went into packs (no object of their own), and the packs
    // the push added hold every blob's bytes exactly once.
    const added = storedObjects().filter((path) => !objectsBefore.has(path));
    expect(added.every((path) => path.includes('packs'))).toBe(true);
    expect(added.reduce((sum, path) => sum + statSync(join(s3.directory, path)).size, 0)).toBe(total);
    const limit = pLimit(16);
    await Promise.all(
      files.map(({ bytes }) =>
        limit(async () => {
          const hash = sha256Hex(bytes);
          // Served through the server's verifying read, and hashed again here.
          expect(await blobOnServer(s3Server, s3Token, hash)).toBe(hash);
        }),
      ),
    );
    const onServer = createTrainyardClient({ url: s3Server.url, token: s3Token });
    expect((await onServer.models.getVersion.query({ model: 'many-dropped', ref: { version: done.remoteVersion ?? 0 } })).artifactCount).toBe(2_000);
  }, 240_000);

  it('2 000 small blobs, connection dropped twice mid-pull: resumes without fetching them all again, registered once, every blob verified', async () => {
    const files = Array.from({ length: 2_000 }, (_unused, index) => ({ name: `shard-${index}.bin`, bytes: randomBlob(16 * 1024) }));
    const version = await createVersionWithFiles(laptop, client, 'many-pulled', files, undefined, 16);
    const push = await client.sync.push.mutate({ remote: 's3team', model: 'many-pulled', ref: { version } });
    const pushed = await waitForEntry(client, push.id, ['done', 'failed'], 120_000);
    expect(pushed).toMatchObject({ state: 'done' });
    const total = files.length * 16 * 1024;

    // A newcomer pulls through the proxy that cuts its connections to the shared server.
    const newcomerDir = mkdtempSync(join(tmpdir(), 'trainyard-newcomer-'));
    const newcomer = await startServerProcess({
      TRAINYARD_DATA_DIR: newcomerDir,
      TRAINYARD_DEMO_DATA: 'off',
      TRAINYARD_SYNC_RETRY_BASE_MS: '50',
      TRAINYARD_SYNC_RETRY_MAX_MS: '400',
    });
    try {
      const newcomerClient = createTrainyardClient({ url: newcomer.url, token: newcomer.token });
      await newcomerClient.sync.addRemote.mutate({ name: 'team', url: `http://127.0.0.1:${s3ServerProxy.port}`, token: s3Token });
      const start = s3ServerProxy.downloadedBytes();
      // Cut at 45 % and 90 % of the bytes: starting over each time would fetch about 1.9× the blobs.
      s3ServerProxy.dropDownloadAt([start + 0.45 * total, start + 0.9 * total]);
      const pull = await newcomerClient.sync.pull.mutate({ remote: 'team', model: 'many-pulled', ref: { version: pushed.remoteVersion ?? 0 } });
      const done = await waitForEntry(newcomerClient, pull.id, ['done', 'failed'], 120_000);
      expect(done).toMatchObject({ state: 'done' });
      expect(done.attempts).toBeGreaterThanOrEqual(3);
      // Resumed: what an attempt wrote before its connection was cut is recorded, and the next attempt
      // fetches only the rest. A cut loses at most the batches in flight (4 of ~1 MiB).
      expect(s3ServerProxy.downloadedBytes() - start).toBeLessThan(1.5 * total);
      const versions = await newcomerClient.models.listVersions.query({ model: 'many-pulled' });
      expect(versions.items.map((item) => item.artifactCount)).toEqual([2_000]);
      const limit = pLimit(16);
      await Promise.all(
        files.map(({ bytes }) =>
          limit(async () => {
            const hash = sha256Hex(bytes);
            // Read back through the newcomer's verifying read, and hashed again here.
            expect(await blobOnServer(newcomer, newcomer.token, hash)).toBe(hash);
          }),
        ),
      );
    } finally {
      newcomer.child.kill('SIGTERM');
      await newcomer.exited;
      rmSync(newcomerDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('laptop SIGKILLed mid-push: after a restart the push resumes from its saved parts and completes once', async () => {
    // 5 parts of 16 MiB, at most 4 in flight: past 64 MiB sent, part 5 is under way, so a
    // part has completed and its progress was saved before that.
    const bytes = randomBlob(80 * MiB);
    const version = await createVersionWithFiles(laptop, client, 'killed', [{ name: 'model.bin', bytes }]);
    const start = s3Proxy.uploadedBytes();
    s3Proxy.stallAt(start + 66 * MiB);
    const push = await client.sync.push.mutate({ remote: 's3team', model: 'killed', ref: { version } });
    await waitUntil(() => s3Proxy.stalled(), 'the upload to stall');
    const before = await client.sync.get.query({ id: push.id });
    expect(before.state).toBe('running');
    // Progress is saved at most every 250 ms (a crash loses at most that much): the parts run
    // side by side, so the first finished just before part 5 reached the stall.
    // A fixed wait on purpose: the scenario needs time to pass (a progress save), not a condition.
    await new Promise((resolve) => setTimeout(resolve, 600));
    laptop.child.kill('SIGKILL');
    await laptop.exited;
    s3Proxy.unstall();
    const resumedFrom = s3Proxy.uploadedBytes();
    await startLaptop();
    expect(await waitForEntry(client, push.id, ['done', 'failed'], 120_000)).toMatchObject({ state: 'done' });
    // At least one 16 MiB part finished before the kill and was not sent again.
    expect(s3Proxy.uploadedBytes() - resumedFrom).toBeLessThanOrEqual(bytes.length - 16 * MiB + MiB);
    expect(await blobOnServer(s3Server, s3Token, sha256Hex(bytes))).toBe(sha256Hex(bytes));
    expect((await client.sync.get.query({ id: push.id })).remoteVersion).toBe(1);
    expect(s3.pendingMultipartUploads()).toEqual([]);
  }, 180_000);

  it('presigned part URLs that expire mid-push are refused by S3, and the next attempt gets fresh ones', async () => {
    const db = await postgres.createDatabase('shared_expiring');
    const expiring = await startSharedServer({
      databaseUrl: db,
      s3: { endpoint: `http://127.0.0.1:${s3Proxy.port}`, bucket: s3.bucket },
      env: { TRAINYARD_UPLOAD_URL_EXPIRY_SECONDS: '1' },
    });
    try {
      await client.sync.addRemote.mutate({ name: 'expiring', url: expiring.url, token: (await createServerToken(db, 'laptop', 'write')).token });
      const bytes = randomBlob(80 * MiB);
      const version = await createVersionWithFiles(laptop, client, 'expiring', [{ name: 'model.bin', bytes }]);
      // Hold the first four parts mid-body (their requests were authorised on arrival) until the
      // fifth part's URL has expired; then let them finish.
      s3Proxy.stallAt(s3Proxy.uploadedBytes() + 2 * MiB);
      const push = await client.sync.push.mutate({ remote: 'expiring', model: 'expiring', ref: { version } });
      await waitUntil(() => s3Proxy.stalled(), 'the upload to stall');
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // a fixed wait on purpose: the 1 s URLs must expire
      s3Proxy.release();
      const errors = new Set<string>();
      await waitUntil(
        async () => {
          const entry = await client.sync.get.query({ id: push.id });
          if (entry.error) errors.add(entry.error);
          return entry.state === 'done' || entry.state === 'failed';
        },
        'the push to end',
        120_000,
      );
      expect(await client.sync.get.query({ id: push.id })).toMatchObject({ state: 'done', error: null });
      expect([...errors].join('\n')).toMatch(/HTTP 403; retrying with fresh part URLs/);
      expect(await blobOnServer(expiring, (await createServerToken(db, 'reader', 'read')).token, sha256Hex(bytes))).toBe(sha256Hex(bytes));
    } finally {
      await expiring.stop();
    }
  }, 180_000);

  it('server restarted mid-push (parts on its disk): the push resumes and completes', async () => {
    const bytes = randomBlob(80 * MiB);
    const version = await createVersionWithFiles(laptop, client, 'restarted', [
      { name: 'model.bin', bytes },
      { name: 'small.json', bytes: Buffer.from('{}') },
    ]);
    const start = diskProxy.uploadedBytes();
    diskProxy.stallAt(start + 66 * MiB);
    const push = await client.sync.push.mutate({ remote: 'diskteam', model: 'restarted', ref: { version } });
    await waitUntil(() => diskProxy.stalled(), 'the upload to stall');
    await diskServer.restart();
    const resumedFrom = diskProxy.uploadedBytes();
    diskProxy.unstall();
    expect(await waitForEntry(client, push.id, ['done', 'failed'], 120_000)).toMatchObject({ state: 'done' });
    expect(diskProxy.uploadedBytes() - resumedFrom).toBeLessThanOrEqual(bytes.length - 16 * MiB + MiB);
    expect(await blobOnServer(diskServer, diskToken, sha256Hex(bytes))).toBe(sha256Hex(bytes));
  }, 180_000);

  it('clients that hang up before their part is read do not take the server down', async () => {
    const writer = createTrainyardClient({ url: diskServer.url, token: diskToken });
    const plan = await writer.sync.startUpload.mutate({ sha256: sha256Hex(Buffer.from('never sent')), size: 20 * MiB });
    const { hostname, port } = new URL(diskServer.url);
    for (let attempt = 0; attempt < 20; attempt++) {
      // Headers and a few bytes of a 16 MiB part, then the connection is gone while the server
      // is still looking the session up.
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `PUT /uploads/${plan.sessionId}/1 HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${diskToken}\r\n` +
              `Content-Type: application/octet-stream\r\nContent-Length: ${16 * MiB}\r\n\r\nabc`,
          );
          setImmediate(() => socket.destroy());
        });
        socket.on('close', () => resolve());
        socket.on('error', () => undefined);
      });
    }
    // Still serving (an uncaught error here would also fail the run).
    expect((await writer.sync.missingBlobs.mutate({ hashes: [] })).missing).toEqual([]);
  });

  it('offline: a push while the server is unreachable waits in the outbox, retries with backoff, and completes when it is back', async () => {
    const version = await createVersionWithFiles(laptop, client, 'offline', [{ name: 'weights', bytes: randomBlob(MiB) }]);
    diskProxy.pause();
    const push = await client.sync.push.mutate({ remote: 'diskteam', model: 'offline', ref: { version } });
    await waitUntil(async () => (await client.sync.get.query({ id: push.id })).attempts >= 3, 'three failed attempts');
    const waiting = await client.sync.get.query({ id: push.id });
    expect(waiting.state).toMatch(/pending|running/);
    expect(waiting.error).toMatch(/ECONNRESET|fetch failed|socket|terminated|other side closed/i);
    diskProxy.resume();
    expect(await waitForEntry(client, push.id, ['done', 'failed'], 60_000)).toMatchObject({ state: 'done', error: null });
  }, 120_000);
});
