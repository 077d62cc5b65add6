import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createArtifactService, createFsBlobStore, createFsMultipartTarget, withBlobIndex } from '@trainyard/artifacts';
import { createVersionInput, registerArtifactInput, registerArtifactsInput, type VersionBundle } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { createExchangeService, type ExchangeService } from '@trainyard/exchange';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRemoteSecrets } from './file-remote-secrets';
import type { RemoteServer } from './remote-server.port';
import type { LocalSnapshots, VersionLineage } from './version-bundle';
import { createSyncService, type OutboxEntryOutput, type SyncService } from './sync.service';

/**
 * libs/sync against real parts: two PGlite databases (a laptop and a shared server), real
 * blob stores, model registry and artifact services, and libs/exchange as the other end, called in
 * process (the HTTP client and routes are tested in apps/server/src/sync.int.test.ts).
 */

const contextOf = async (database: Database, root: string) => {
  const store = await createFsBlobStore(join(root, 'blobs'));
  const blobs = withBlobIndex(store, database);
  const artifacts = createArtifactService({
    database,
    blobs,
    gcGraceMs: 0,
    owners: () => ({ jobs: { exists: async () => false }, versions }),
  });
  const models = createModelRegistryService(database);
  const versions = createModelVersionService(database, artifacts);
  return { database, store, blobs, artifacts, models, versions };
};

/** The shared server's exchange as a RemoteServer, without HTTP; `faults` replace calls to simulate the server's answers. */
const inProcess = (exchange: ExchangeService, serverBlobs: Awaited<ReturnType<typeof contextOf>>['blobs'], faults: Partial<RemoteServer> = {}) => {
  const calls = { missingBlobs: 0, receiveVersion: 0 };
  const remote: RemoteServer = {
    async missingBlobs(hashes) {
      calls.missingBlobs += 1;
      return exchange.missingBlobs(hashes);
    },
    async putBlob(sha256, _size, body) {
      await serverBlobs.put(await body(), { expectedSha256: sha256 });
    },
    async putBlobBatch(manifest, bytes) {
      await exchange.receiveBlobBatch(
        Readable.from(
          (async function* () {
            yield Buffer.from(`${JSON.stringify(manifest)}\n`);
            for await (const chunk of bytes()) yield Buffer.from(chunk);
          })(),
        ),
      );
    },
    startUpload: (sha256, size) => exchange.startUpload(sha256, size),
    resumeUpload: (sessionId) => exchange.resumeUpload(sessionId),
    uploadPart: (plan, partNumber, body) => exchange.receivePart(plan.sessionId as string, partNumber, Readable.from([body])),
    completeUpload: async (sessionId, parts) => {
      await exchange.completeUpload(sessionId, parts);
    },
    receiveVersion: (key, bundle) => {
      calls.receiveVersion += 1;
      return exchange.receiveVersion(key, bundle, 'token:laptop');
    },
    describeVersion: (model, ref, paged) => exchange.describeVersion(model, ref, paged),
    versionArtifacts: async (model, version, offset, limit) => (await exchange.versionArtifacts(model, version, offset, limit)).artifacts,
    stageArtifacts: async (key, page, artifacts) => {
      await exchange.stageArtifacts(key, page, artifacts);
    },
    downloadBlob: (sha256) => serverBlobs.read(sha256),
    downloadBlobBatch: async (hashes) => Readable.from((await exchange.readBlobBatch(hashes)).blobs),
    receiveSnapshot: (manifest, origin) => exchange.receiveSnapshot(manifest, origin),
    describeSnapshot: (id) => exchange.describeSnapshot(id),
    listSnapshots: async () => ({ items: [], nextCursor: null }),
    ...faults,
  };
  return { remote, calls };
};

const noSnapshots: LocalSnapshots = {
  manifestOf: async () => null,
  hashOf: async () => null,
  importSnapshot: async () => ({ created: false }),
  importAlone: async () => ({ created: false }),
};

let root: string;
let laptop: Awaited<ReturnType<typeof contextOf>>;
let server: Awaited<ReturnType<typeof contextOf>>;
let exchange: ExchangeService;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-sync-'));
  laptop = await contextOf(await createTestDatabase(), join(root, 'laptop'));
  server = await contextOf(await createTestDatabase(), join(root, 'server'));
  exchange = createExchangeService({
    database: server.database,
    blobs: server.blobs,
    uploads: createFsMultipartTarget(join(root, 'server', 'uploads'), server.store),
    artifacts: server.artifacts,
    models: server.models,
    versions: server.versions,
    serverUrl: () => 'https://server.test',
    // Versions without snapshots here (apps/server's sync tests carry datasets with the real service).
    snapshots: noSnapshots,
    acceptDatasets: true,
  });
});

afterAll(async () => {
  await laptop?.database.close();
  await server?.database.close();
  await rm(root, { recursive: true, force: true });
});

/** A sync service on the laptop whose remotes all reach `remote`; names resolve to a LAN address. */
const syncWith = (
  remote: RemoteServer,
  secretsFile = join(root, `remotes-${Math.random()}.json`),
  snapshots: typeof noSnapshots = noSnapshots,
  jobs: VersionLineage['jobs'] = { configurationOf: async () => null },
): SyncService =>
  createSyncService({
    database: laptop.database,
    blobs: laptop.blobs,
    models: laptop.models,
    versions: laptop.versions,
    artifacts: laptop.artifacts,
    lineage: { snapshots, jobs },
    secrets: createFileRemoteSecrets(secretsFile),
    connect: () => remote,
    origin: 'trainyard://laptop/test',
    resolver: async () => ['192.168.1.20'],
    baseBackoffMs: 60_000,
    maxBackoffMs: 600_000,
    pollMs: 20,
  });

let modelCount = 0;
/** A model on the laptop with one version holding one small artifact. */
const localVersion = async (text: string) => {
  const model = `sync-lib-${++modelCount}`;
  await laptop.models.register({ name: model, description: 'from the laptop', tags: ['t'], metadata: { k: 'v' } }, 'local');
  const { sha256 } = await laptop.blobs.put(Readable.from([Buffer.from(text)]));
  const artifact = await laptop.artifacts.register(registerArtifactInput.parse({ sha256, name: 'model.bin', type: 'model', metadata: { layers: 2 } }));
  const version = await laptop.versions.create(createVersionInput.parse({ model, metrics: { accuracy: 0.9 }, artifactIds: [artifact.id] }), 'local');
  return { model, sha256, version };
};

const settled = async (sync: SyncService, id: string): Promise<OutboxEntryOutput> => {
  await expect.poll(async () => (await sync.get(id)).state, { timeout: 10_000, interval: 20 }).not.toMatch(/^(pending|running)$/);
  return sync.get(id);
};
const codeOf = (error: unknown): string | undefined => (isDomainError(error) ? error.code : undefined);

describe('remotes', () => {
  it('adds a remote with its token kept in the secrets file (not the database), refuses a second of the same name, lists and removes it', async () => {
    const file = join(root, 'crud-remotes.json');
    const sync = syncWith(inProcess(exchange, server.blobs).remote, file);
    const added = await sync.addRemote({ name: 'crud', url: 'https://server.test/', token: 'a-token-of-sixteen+' });
    expect(added).toMatchObject({ name: 'crud', url: 'https://server.test', links: [] });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ [added.id]: 'a-token-of-sixteen+' });
    expect(await codeOf(await sync.addRemote({ name: 'crud', url: 'https://other.test', token: 'a-token-of-sixteen+' }).catch((e: unknown) => e))).toBe(
      'CONFLICT',
    );
    expect((await sync.listRemotes()).map((r) => r.name)).toContain('crud');
    await sync.removeRemote('crud');
    expect((await sync.listRemotes()).map((r) => r.name)).not.toContain('crud');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({});
    expect(codeOf(await sync.removeRemote('crud').catch((e: unknown) => e))).toBe('NOT_FOUND');
  });

  it('refuses a remote whose name resolves to the metadata service', async () => {
    const sync = createSyncService({
      ...{ database: laptop.database, blobs: laptop.blobs, models: laptop.models, versions: laptop.versions, artifacts: laptop.artifacts },
      lineage: { snapshots: noSnapshots, jobs: { configurationOf: async () => null } },
      secrets: createFileRemoteSecrets(join(root, 'unsafe.json')),
      connect: () => inProcess(exchange, server.blobs).remote,
      origin: 'o',
      resolver: async () => ['169.254.169.254'],
    });
    expect(codeOf(await sync.addRemote({ name: 'meta', url: 'https://metadata.test', token: 'a-token-of-sixteen+' }).catch((e: unknown) => e))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('the outbox and its worker', () => {
  it('queues nothing while the worker is not started (a shared server is the other end of sync)', async () => {
    const sync = syncWith(inProcess(exchange, server.blobs).remote);
    await sync.addRemote({ name: 'idle', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    const { model } = await localVersion('idle');
    expect(codeOf(await sync.push('idle', model, { version: 1 }).catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
  });

  it('pushes a version with its artifacts, links it, answers a repeated push and a pull of it with the same version', async () => {
    const { remote, calls } = inProcess(exchange, server.blobs);
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'main', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { model, sha256 } = await localVersion('weights one');
      const queued = await sync.push('main', model, { alias: 'latest' });
      expect(queued).toMatchObject({ remote: 'main', direction: 'push', model, localVersion: 1 });
      const done = await settled(sync, queued.id);
      expect(done).toMatchObject({ state: 'done', remoteVersion: 1, attempts: 1, error: null, bytesTotal: 11, bytesDone: 11 });

      const described = await exchange.describeVersion(model, { version: 1 });
      expect(described.model).toEqual({ name: model, description: 'from the laptop', tags: ['t'], metadata: { k: 'v' } });
      expect(described.artifacts).toEqual([
        { name: 'model.bin', type: 'model', mediaType: 'application/octet-stream', sha256, size: 11, metadata: { layers: 2 } },
      ]);
      expect((await buffer(await server.blobs.read(sha256))).toString()).toBe('weights one');
      expect((await sync.listRemotes()).find((r) => r.name === 'main')?.links).toContainEqual({ model, localVersion: 1, remoteVersion: 1, direction: 'push' });

      // The same version again: the entry is done and stays so; nothing is sent.
      expect(await sync.push('main', model, { version: 1 })).toMatchObject({ id: queued.id, state: 'done' });
      expect(calls.receiveVersion).toBe(1);

      // Pulling what was pushed finds the link: no new local version.
      const pulled = await settled(sync, (await sync.pull('main', model, { version: 1 })).id);
      expect(pulled).toMatchObject({ state: 'done', localVersion: 1, remoteVersion: 1 });
      expect((await laptop.versions.list(model, 10)).items).toHaveLength(1);
    } finally {
      await sync.stop();
    }
  });

  it('stages records too large for one request in pages of at most ~4 MB of JSON, then registers the version with every record intact', async () => {
    const staged: number[] = [];
    const { remote, calls } = inProcess(exchange, server.blobs);
    const sync = syncWith({
      ...remote,
      stageArtifacts: async (key, page, artifacts) => {
        staged.push(Buffer.byteLength(JSON.stringify(artifacts)));
        await remote.stageArtifacts(key, page, artifacts);
      },
    });
    await sync.addRemote({ name: 'wide', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      // 150 records of ~60 KB of metadata each: ~9 MB, over one 10 MiB request with the rest of the bundle.
      const model = `sync-lib-wide-${++modelCount}`;
      await laptop.models.register({ name: model, description: '', tags: [], metadata: {} }, 'local');
      const { sha256 } = await laptop.blobs.put(Readable.from([Buffer.from('shared bytes')]));
      // Metadata strings hold at most 4 096 characters: 15 of 4 000.
      const notes = Object.fromEntries(Array.from({ length: 15 }, (_unused, key) => [`note${key}`, 'x'.repeat(4_000)]));
      const { ids } = await laptop.artifacts.registerMany(
        registerArtifactsInput.parse({
          artifacts: Array.from({ length: 150 }, (_unused, index) => ({
            sha256,
            name: `shard-${String(index).padStart(3, '0')}`,
            type: 'checkpoint',
            metadata: { ...notes, index },
          })),
        }),
      );
      await laptop.versions.create(createVersionInput.parse({ model, artifactIds: ids }), 'local');
      const done = await settled(sync, (await sync.push('wide', model, { version: 1 })).id);
      expect(done).toMatchObject({ state: 'done', error: null });
      expect(staged.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...staged)).toBeLessThanOrEqual(4 * 1024 * 1024);
      expect(calls.receiveVersion).toBe(1);
      const described = await exchange.describeVersion(model, { version: done.remoteVersion ?? 0 });
      expect(described.artifactCount).toBe(150);
      expect(described.artifacts.map((artifact) => (artifact.metadata as { index: number }).index)).toEqual(
        Array.from({ length: 150 }, (_unused, index) => index),
      );
      expect(described.artifacts.every((artifact) => (artifact.metadata as Record<string, unknown>)['note14'] === notes['note14'])).toBe(true);
    } finally {
      await sync.stop();
    }
  });

  it("pushing a large version to an older server (no sync.stageArtifacts) fails with that call's error and registers nothing", async () => {
    const { remote, calls } = inProcess(exchange, server.blobs, {
      stageArtifacts: async () => {
        throw new DomainError('NOT_FOUND', 'No "mutation"-procedure on path "sync.stageArtifacts"');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'old', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const model = `sync-lib-old-${++modelCount}`;
      await laptop.models.register({ name: model, description: '', tags: [], metadata: {} }, 'local');
      const { sha256 } = await laptop.blobs.put(Readable.from([Buffer.from('old server bytes')]));
      const notes = Object.fromEntries(Array.from({ length: 15 }, (_unused, key) => [`note${key}`, 'x'.repeat(4_000)]));
      const { ids } = await laptop.artifacts.registerMany(
        registerArtifactsInput.parse({
          artifacts: Array.from({ length: 150 }, (_unused, index) => ({ sha256, name: `shard-${index}`, type: 'checkpoint', metadata: { ...notes, index } })),
        }),
      );
      await laptop.versions.create(createVersionInput.parse({ model, artifactIds: ids }), 'local');
      const failed = await settled(sync, (await sync.push('old', model, { version: 1 })).id);
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringContaining('sync.stageArtifacts') });
      expect(calls.receiveVersion).toBe(0);
      expect(await server.models.exists(model)).toBe(false);
    } finally {
      await sync.stop();
    }
  });

  it('refuses a pulled version whose listed records fall short of its described count, before downloading a blob', async () => {
    const model = `sync-lib-short-${++modelCount}`;
    await server.models.register({ name: model, description: '', tags: [], metadata: {} }, 'token:ci');
    const { sha256 } = await server.blobs.put(Readable.from([Buffer.from('short listing')]));
    const artifact = await server.artifacts.register(registerArtifactInput.parse({ sha256, name: 'w.bin', type: 'model' }));
    await server.versions.create(createVersionInput.parse({ model, artifactIds: [artifact.id] }), 'token:ci');
    let downloads = 0;
    const { remote } = inProcess(exchange, server.blobs);
    const sync = syncWith({
      ...remote,
      // The server says the version holds two records, then lists no more than the first.
      describeVersion: async (name, ref, paged) => ({ ...(await remote.describeVersion(name, ref, paged)), artifactCount: 2 }),
      versionArtifacts: async () => [],
      downloadBlob: async (hash) => {
        downloads += 1;
        return remote.downloadBlob(hash);
      },
      downloadBlobBatch: async (hashes) => {
        downloads += 1;
        return remote.downloadBlobBatch(hashes);
      },
    });
    await sync.addRemote({ name: 'short', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const failed = await settled(sync, (await sync.pull('short', model, { version: 1 })).id);
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringContaining('described 2 artifacts of the version but listed 1') });
      expect(downloads).toBe(0);
      expect(await laptop.models.exists(model)).toBe(false);
    } finally {
      await sync.stop();
    }
  });

  it('pulls a version it does not have: blobs verified into the local store, model and version registered with their origin', async () => {
    const model = `sync-lib-pulled-${++modelCount}`;
    await server.models.register({ name: model, description: 'made on the server', tags: [], metadata: {} }, 'token:ci');
    const { sha256 } = await server.blobs.put(Readable.from([Buffer.from('server weights')]));
    const artifact = await server.artifacts.register(registerArtifactInput.parse({ sha256, name: 'w.bin', type: 'model' }));
    await server.versions.create(createVersionInput.parse({ model, artifactIds: [artifact.id] }), 'token:ci');

    const sync = syncWith(inProcess(exchange, server.blobs).remote);
    await sync.addRemote({ name: 'pull', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const done = await settled(sync, (await sync.pull('pull', model, { alias: 'latest' })).id);
      expect(done).toMatchObject({ state: 'done', localVersion: 1, remoteVersion: 1 });
      const local = await laptop.versions.get(model, { version: 1 });
      expect(local.provenance).toMatchObject({ pulledFrom: { remote: 'pull', url: 'https://server.test', model, version: 1 } });
      expect(await laptop.artifacts.listOfVersions([local.id])).toMatchObject([{ name: 'w.bin', sha256, size: 'server weights'.length }]);
      expect((await buffer(await laptop.blobs.read(sha256))).toString()).toBe('server weights');
      // Recorded in the local index too (pulled in a batch, indexed in one statement): a later pull skips it.
      expect(await laptop.blobs.present([sha256])).toEqual(new Set([sha256]));
    } finally {
      await sync.stop();
    }
  });

  it('records the blobs of a pull whose version is refused here (its model is archived): a retry does not fetch them again', async () => {
    const model = `sync-lib-archived-${++modelCount}`;
    await server.models.register({ name: model, description: 'made on the server', tags: [], metadata: {} }, 'token:ci');
    const bytes = Buffer.from(`weights of ${model}`);
    const { sha256 } = await server.blobs.put(Readable.from([bytes]));
    const artifact = await server.artifacts.register(registerArtifactInput.parse({ sha256, name: 'w.bin', type: 'model' }));
    await server.versions.create(createVersionInput.parse({ model, artifactIds: [artifact.id] }), 'token:ci');
    await laptop.models.register({ name: model, description: 'archived here', tags: [], metadata: {} }, 'local');
    await laptop.models.archive(model, 'local');

    const sync = syncWith(inProcess(exchange, server.blobs).remote);
    await sync.addRemote({ name: 'pull-archived', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const failed = await settled(sync, (await sync.pull('pull-archived', model, { version: 1 })).id);
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/archived/) });
      await expect(laptop.versions.get(model, { version: 1 })).rejects.toThrow(/has no version/);
      // Refused before the version's rows were written; its blobs were recorded after the refusal.
      expect(await laptop.blobs.present([sha256])).toEqual(new Set([sha256]));
      expect((await buffer(await laptop.blobs.read(sha256))).equals(bytes)).toBe(true);
    } finally {
      await sync.stop();
    }
  });

  it("a pulled version whose records the database refuses in its transaction registers nothing, says the database's reason, and keeps its blobs recorded", async () => {
    const model = `sync-lib-refused-${++modelCount}`;
    await server.models.register({ name: model, description: 'made on the server', tags: [], metadata: {} }, 'token:ci');
    const bytes = Buffer.from(`weights of ${model}`);
    const { sha256 } = await server.blobs.put(Readable.from([bytes]));
    const artifact = await server.artifacts.register(registerArtifactInput.parse({ sha256, name: 'w.bin', type: 'model' }));
    await server.versions.create(createVersionInput.parse({ model, artifactIds: [artifact.id] }), 'token:ci');
    const { remote } = inProcess(exchange, server.blobs, {
      // A record without its media type: the insert fails inside the version's transaction (NOT NULL),
      // while the blobs' index rows go into the same transaction.
      describeVersion: async (name, ref, paged) => {
        const described = await exchange.describeVersion(name, ref, paged);
        return { ...described, artifacts: described.artifacts.map((record) => ({ ...record, mediaType: undefined as unknown as string })) };
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'pull-refused', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { id } = await sync.pull('pull-refused', model, { version: 1 });
      await expect.poll(async () => (await sync.get(id)).error ?? '', { timeout: 10_000, interval: 20 }).toMatch(/mediaType/);
      const entry = await sync.get(id);
      expect(entry).toMatchObject({ state: 'pending', attempts: 1 });
      expect(entry.error).not.toMatch(/transaction is aborted/);
      await expect(laptop.versions.get(model, { version: 1 })).rejects.toThrow(/has no version/);
      // Rolled back with the version, then recorded again after it: a retry does not fetch the blob.
      expect(await laptop.blobs.present([sha256])).toEqual(new Set([sha256]));
      expect(await sync.cancel(id)).toMatchObject({ state: 'cancelled' });
    } finally {
      await sync.stop();
    }
  });

  it('fails an entry at once on an error code a retry cannot fix, and says why', async () => {
    const { remote } = inProcess(exchange, server.blobs, {
      receiveVersion: async () => {
        throw new DomainError('FORBIDDEN', 'This token may not push (read scope)');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'forbidden', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { model } = await localVersion('forbidden');
      const failed = await settled(sync, (await sync.push('forbidden', model, { version: 1 })).id);
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, error: 'This token may not push (read scope)' });

      // A failed entry is armed again by retry (and fails again here); only a pending one can be cancelled.
      expect(codeOf(await sync.cancel(failed.id).catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
      await sync.retry(failed.id);
      expect(await settled(sync, failed.id)).toMatchObject({ state: 'failed', attempts: 2 });
    } finally {
      await sync.stop();
    }
  });

  it("counts each attempt's bytes from zero: a retried push that sends nothing new ends with its total, not twice it", async () => {
    let refusals = 1;
    const { remote } = inProcess(exchange, server.blobs, {
      receiveVersion: async (key, bundle) => {
        if (refusals-- > 0) throw new DomainError('FORBIDDEN', 'Refused once, after the blob was sent');
        return exchange.receiveVersion(key, bundle, 'token:laptop');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'twice', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { model } = await localVersion('sent twice');
      const failed = await settled(sync, (await sync.push('twice', model, { version: 1 })).id);
      expect(failed).toMatchObject({ state: 'failed', attempts: 1, bytesTotal: 10, bytesDone: 10 });
      await sync.retry(failed.id);
      // The blob is on the server now: the second attempt counts it as done again, from zero.
      expect(await settled(sync, failed.id)).toMatchObject({ state: 'done', attempts: 2, bytesTotal: 10, bytesDone: 10 });
    } finally {
      await sync.stop();
    }
  });

  it('keeps an entry pending with backoff on a retryable error, whatever its message says; it can then be cancelled', async () => {
    const { remote } = inProcess(exchange, server.blobs, {
      receiveVersion: async () => {
        throw new DomainError('UNAVAILABLE', 'Forbidden: not found (a proxy page)');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'flaky', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { model } = await localVersion('flaky');
      const before = Date.now();
      const { id } = await sync.push('flaky', model, { version: 1 });
      await expect.poll(async () => (await sync.get(id)).error, { timeout: 10_000, interval: 20 }).toBe('Forbidden: not found (a proxy page)');
      const waiting = await sync.get(id);
      expect(waiting).toMatchObject({ state: 'pending', attempts: 1 });
      // baseBackoffMs is 60 s: the first retry waits one base period.
      expect(waiting.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
      expect(waiting.nextAttemptAt.getTime()).toBeLessThan(Date.now() + 60_000 + 1_000);
      expect(await sync.cancel(id)).toMatchObject({ state: 'cancelled' });
      expect(codeOf(await sync.retry((await sync.push('flaky', model, { version: 1 })).id).catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
    } finally {
      await sync.stop();
    }
  });

  it('sends the blobs again when the server says (details.missing) it no longer has them, then registers the version', async () => {
    let refusals = 0;
    const base = inProcess(exchange, server.blobs);
    const { remote } = inProcess(exchange, server.blobs, {
      missingBlobs: base.remote.missingBlobs,
      receiveVersion: async (key, bundle) => {
        if (refusals++ === 0) throw new DomainError('FAILED_PRECONDITION', 'blobs gone', { missing: [bundle.artifacts[0]?.sha256] });
        return base.remote.receiveVersion(key, bundle);
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'gc', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const { model } = await localVersion('collected meanwhile');
      const done = await settled(sync, (await sync.push('gc', model, { version: 1 })).id);
      expect(done).toMatchObject({ state: 'done', attempts: 1, remoteVersion: 1 });
      expect(base.calls.missingBlobs).toBe(2);
      expect(base.calls.receiveVersion).toBe(1);
    } finally {
      await sync.stop();
    }
  });

  it('sends an older server (its answer names no acceptsDatasets) the bundle as it knew it: no snapshot data, no fields it does not know', async () => {
    const { sha256: data } = await laptop.blobs.put(Readable.from([Buffer.from('{"pair":"one"}\n')]));
    const manifest = {
      id: '01a22cc7-86ac-7643-aa84-1006b27b12bc',
      name: 'frozen',
      blobSha256: data,
      blobSize: 15,
      totalCount: 1,
      trainCount: 1,
      validationCount: 0,
      filter: {},
      seed: 1,
      validationFraction: 0,
      createdAt: '2026-11-30T10:00:00.000Z',
    };
    const sent: VersionBundle[] = [];
    const base = inProcess(exchange, server.blobs);
    const { remote } = inProcess(exchange, server.blobs, {
      missingBlobs: async (hashes) => {
        const { acceptsDatasets: _older, ...answer } = await base.remote.missingBlobs(hashes);
        return answer;
      },
      receiveVersion: async (key, bundle) => {
        sent.push(bundle);
        return base.remote.receiveVersion(key, bundle);
      },
    });
    // The job that made it, with the trainer identity an older server does not know.
    const jobId = '01a22cc7-86ac-7643-aa84-1006b27b12bd';
    await laptop.database.sql.query(`INSERT INTO "TrainingJob" ("id", "name", "status", "trainer") VALUES ($1, 'made it', 'succeeded', '{}')`, [jobId]);
    const job = { id: jobId, name: 'made it', trainer: { kind: 'builtin', name: 'text-detector' }, hyperparameters: { seed: 42 } };
    const jobs = { configurationOf: async (id: string) => (id === jobId ? { ...job, identity: { kind: 'builtin', codeSha256: 'a'.repeat(64) } } : null) };
    const sync = syncWith(remote, undefined, { ...noSnapshots, manifestOf: async (id) => (id === manifest.id ? manifest : null) }, jobs);
    await sync.addRemote({ name: 'older', url: 'https://server.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const model = `sync-lib-${++modelCount}`;
      await laptop.models.register({ name: model, description: '', tags: [], metadata: {} }, 'local');
      await laptop.versions.create(createVersionInput.parse({ model, datasetSnapshotId: manifest.id, trainingJobId: jobId }), 'local');
      expect(await settled(sync, (await sync.push('older', model, { version: 1 })).id)).toMatchObject({ state: 'done' });
      const { blobSize: _size, ...known } = manifest;
      expect(sent[0]?.lineage.datasetSnapshot).toEqual(known);
      expect(sent[0]).not.toHaveProperty('datasetData');
      expect(sent[0]?.lineage.trainingJob).toEqual(job);
      expect((await server.blobs.present([data])).size).toBe(0);
    } finally {
      await sync.stop();
    }
  });
});
