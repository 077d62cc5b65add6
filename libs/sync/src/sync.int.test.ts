import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createArtifactService, createFsBlobStore, createFsMultipartTarget, withBlobIndex } from '@trainyard/artifacts';
import { createVersionInput, registerArtifactInput } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { createRegistryExchangeService, type RegistryExchangeService } from '@trainyard/exchange';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRemoteSecrets } from './file-remote-secrets';
import type { RemoteRegistry } from './remote-registry.port';
import { createSyncService, type OutboxEntryOutput, type SyncService } from './sync.service';

/**
 * libs/sync against real parts: two PGlite databases (a laptop and a shared registry), real
 * blob stores, registry and artifact services, and libs/exchange as the other end, called in
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

/** The registry's exchange as a RemoteRegistry, without HTTP; `faults` replace calls to simulate a registry's answers. */
const inProcess = (exchange: RegistryExchangeService, registryBlobs: Awaited<ReturnType<typeof contextOf>>['blobs'], faults: Partial<RemoteRegistry> = {}) => {
  const calls = { missingBlobs: 0, receiveVersion: 0 };
  const remote: RemoteRegistry = {
    async missingBlobs(hashes) {
      calls.missingBlobs += 1;
      return (await exchange.missingBlobs(hashes)).missing;
    },
    async putBlob(sha256, _size, body) {
      await registryBlobs.put(await body(), { expectedSha256: sha256 });
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
    describeVersion: (model, ref) => exchange.describeVersion(model, ref),
    downloadBlob: (sha256) => registryBlobs.read(sha256),
    ...faults,
  };
  return { remote, calls };
};

let root: string;
let laptop: Awaited<ReturnType<typeof contextOf>>;
let registry: Awaited<ReturnType<typeof contextOf>>;
let exchange: RegistryExchangeService;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-sync-'));
  laptop = await contextOf(await createTestDatabase(), join(root, 'laptop'));
  registry = await contextOf(await createTestDatabase(), join(root, 'registry'));
  exchange = createRegistryExchangeService({
    database: registry.database,
    blobs: registry.blobs,
    uploads: createFsMultipartTarget(join(root, 'registry', 'uploads'), registry.store),
    artifacts: registry.artifacts,
    models: registry.models,
    versions: registry.versions,
    registryUrl: () => 'https://registry.test',
  });
});

afterAll(async () => {
  await laptop?.database.close();
  await registry?.database.close();
  await rm(root, { recursive: true, force: true });
});

/** A sync service on the laptop whose remotes all reach `remote`; names resolve to a LAN address. */
const syncWith = (remote: RemoteRegistry, secretsFile = join(root, `remotes-${Math.random()}.json`)): SyncService =>
  createSyncService({
    database: laptop.database,
    blobs: laptop.blobs,
    models: laptop.models,
    versions: laptop.versions,
    artifacts: laptop.artifacts,
    lineage: { snapshots: { manifestOf: async () => null }, jobs: { configurationOf: async () => null } },
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
    const sync = syncWith(inProcess(exchange, registry.blobs).remote, file);
    const added = await sync.addRemote({ name: 'crud', url: 'https://registry.test/', token: 'a-token-of-sixteen+' });
    expect(added).toMatchObject({ name: 'crud', url: 'https://registry.test', links: [] });
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
      lineage: { snapshots: { manifestOf: async () => null }, jobs: { configurationOf: async () => null } },
      secrets: createFileRemoteSecrets(join(root, 'unsafe.json')),
      connect: () => inProcess(exchange, registry.blobs).remote,
      origin: 'o',
      resolver: async () => ['169.254.169.254'],
    });
    expect(codeOf(await sync.addRemote({ name: 'meta', url: 'https://metadata.test', token: 'a-token-of-sixteen+' }).catch((e: unknown) => e))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('the outbox and its worker', () => {
  it('queues nothing while the worker is not started (a shared registry is the other end of sync)', async () => {
    const sync = syncWith(inProcess(exchange, registry.blobs).remote);
    await sync.addRemote({ name: 'idle', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
    const { model } = await localVersion('idle');
    expect(codeOf(await sync.push('idle', model, { version: 1 }).catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
  });

  it('pushes a version with its artifacts, links it, answers a repeated push and a pull of it with the same version', async () => {
    const { remote, calls } = inProcess(exchange, registry.blobs);
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'main', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
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
      expect((await buffer(await registry.blobs.read(sha256))).toString()).toBe('weights one');
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

  it('pulls a version it does not have: blobs verified into the local store, model and version registered with their origin', async () => {
    const model = `sync-lib-pulled-${++modelCount}`;
    await registry.models.register({ name: model, description: 'made on the registry', tags: [], metadata: {} }, 'token:ci');
    const { sha256 } = await registry.blobs.put(Readable.from([Buffer.from('registry weights')]));
    const artifact = await registry.artifacts.register(registerArtifactInput.parse({ sha256, name: 'w.bin', type: 'model' }));
    await registry.versions.create(createVersionInput.parse({ model, artifactIds: [artifact.id] }), 'token:ci');

    const sync = syncWith(inProcess(exchange, registry.blobs).remote);
    await sync.addRemote({ name: 'pull', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
    await sync.start();
    try {
      const done = await settled(sync, (await sync.pull('pull', model, { alias: 'latest' })).id);
      expect(done).toMatchObject({ state: 'done', localVersion: 1, remoteVersion: 1 });
      const local = await laptop.versions.get(model, { version: 1 });
      expect(local.provenance).toMatchObject({ pulledFrom: { remote: 'pull', url: 'https://registry.test', model, version: 1 } });
      expect(await laptop.artifacts.listOfVersions([local.id])).toMatchObject([{ name: 'w.bin', sha256, size: 16 }]);
      expect((await buffer(await laptop.blobs.read(sha256))).toString()).toBe('registry weights');
    } finally {
      await sync.stop();
    }
  });

  it('fails an entry at once on an error code a retry cannot fix, and says why', async () => {
    const { remote } = inProcess(exchange, registry.blobs, {
      receiveVersion: async () => {
        throw new DomainError('FORBIDDEN', 'This token may not push (read scope)');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'forbidden', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
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

  it('keeps an entry pending with backoff on a retryable error, whatever its message says; it can then be cancelled', async () => {
    const { remote } = inProcess(exchange, registry.blobs, {
      receiveVersion: async () => {
        throw new DomainError('UNAVAILABLE', 'Forbidden: not found (a proxy page)');
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'flaky', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
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

  it('sends the blobs again when the registry says (details.missing) it no longer has them, then registers the version', async () => {
    let refusals = 0;
    const base = inProcess(exchange, registry.blobs);
    const { remote } = inProcess(exchange, registry.blobs, {
      missingBlobs: base.remote.missingBlobs,
      receiveVersion: async (key, bundle) => {
        if (refusals++ === 0) throw new DomainError('FAILED_PRECONDITION', 'blobs gone', { missing: [bundle.artifacts[0]?.sha256] });
        return base.remote.receiveVersion(key, bundle);
      },
    });
    const sync = syncWith(remote);
    await sync.addRemote({ name: 'gc', url: 'https://registry.test', token: 'a-token-of-sixteen+' });
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
});
