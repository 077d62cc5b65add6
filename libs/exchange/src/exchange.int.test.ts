import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactService, createFsBlobStore, createFsMultipartTarget, withBlobIndex } from '@trainyard/artifacts';
import type { VersionBundle } from '@trainyard/contracts';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExchangeService, type ExchangeService } from './exchange.service';
import { partSizeFor } from './upload-sessions';

let root: string;
let database: Database;
let exchange: ExchangeService;
let services: { blobs: ReturnType<typeof withBlobIndex>; versions: ReturnType<typeof createModelVersionService> };

const noSnapshots = {
  importSnapshot: async () => ({ created: false }),
  importAlone: async () => ({ created: false }),
  manifestOf: async () => null,
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trainyard-exchange-'));
  database = await createTestDatabase();
  const store = await createFsBlobStore(join(root, 'blobs'));
  const blobs = withBlobIndex(store, database);
  const artifacts = createArtifactService({ database, blobs, gcGraceMs: 0, owners: () => ({ jobs: { exists: async () => false }, versions }) });
  const models = createModelRegistryService(database);
  const versions = createModelVersionService(database, artifacts);
  services = { blobs, versions };
  exchange = createExchangeService({
    database,
    blobs,
    uploads: createFsMultipartTarget(join(root, 'uploads'), store),
    artifacts,
    models,
    versions,
    serverUrl: () => 'https://server.test',
    // Versions without snapshots here (apps/server's sync tests carry datasets with the real service).
    snapshots: noSnapshots,
    acceptDatasets: true,
  });
});

afterAll(async () => {
  await database?.close();
  await rm(root, { recursive: true, force: true });
});

let count = 0;
const bundleOf = (model: string, artifacts: Array<{ sha256: string; size: number }>): VersionBundle => ({
  model: { name: model, description: 'pushed', tags: ['x'], metadata: { team: 'a' } },
  version: { version: 7, description: 'v7 on the laptop', metrics: { accuracy: 0.8 }, tags: [], validation: null },
  artifacts: artifacts.map((a, i) => ({
    name: `a${i}.bin`,
    type: 'model',
    mediaType: 'application/octet-stream',
    sha256: a.sha256,
    size: a.size,
    metadata: {},
  })),
  lineage: { datasetSnapshot: null, trainingJob: null, parentVersion: null },
  origin: { registry: 'trainyard://laptop', model, version: 7 },
});
const stored = async (text: string) => {
  const { sha256, size } = await services.blobs.put(Readable.from([Buffer.from(text)]));
  return { sha256, size };
};

describe('received versions', () => {
  it('refuses a bundle whose blobs are not here, naming them in details.missing', async () => {
    const absent = { sha256: sha256Hex('never uploaded'), size: 14 };
    const error = await exchange.receiveVersion('version:absent-1', bundleOf(`ex-${++count}`, [absent]), 'token:ci').catch((e: unknown) => e);
    expect(isDomainError(error) && { code: error.code, details: error.details }).toEqual({
      code: 'FAILED_PRECONDITION',
      details: { missing: [absent.sha256] },
    });
    expect((await exchange.missingBlobs([absent.sha256, absent.sha256])).missing).toEqual([absent.sha256]);
  });

  it('registers a bundle once per idempotency key, even when the same push arrives twice at the same time', async () => {
    const model = `ex-${++count}`;
    const bundle = bundleOf(model, [await stored(`weights ${model}`)]);
    const [first, second] = await Promise.all([
      exchange.receiveVersion('version:same-key', bundle, 'token:ci'),
      exchange.receiveVersion('version:same-key', bundle, 'token:ci'),
    ]);
    expect([first, second].map((r) => r.created).sort()).toEqual([false, true]);
    expect(first.version).toBe(second.version);
    expect(await exchange.receiveVersion('version:same-key', bundle, 'token:ci')).toEqual({ model, version: 1, created: false });
    expect((await services.versions.list(model, 10)).items).toHaveLength(1);
  });

  it('describes a received version for a puller: model, artifacts and lineage as they arrived, numbered here, with this server as origin', async () => {
    const model = `ex-${++count}`;
    const blob = await stored(`weights ${model}`);
    const bundle = bundleOf(model, [blob]);
    await exchange.receiveVersion(`version:${model}`, bundle, 'token:ci');
    expect(await exchange.describeVersion(model, { alias: 'latest' })).toEqual({
      ...bundle,
      // The number and the validation record are this server's own.
      version: { ...bundle.version, version: 1, validation: expect.anything() },
      origin: { registry: 'https://server.test', model, version: 1 },
      // Pullers may read its small blobs in batches.
      blobBatches: expect.objectContaining({ maxBlobs: 1_000 }),
    });
    const version = await services.versions.get(model, { version: 1 });
    expect(version.provenance).toMatchObject({ pushedFrom: bundle.origin, lineage: bundle.lineage });
  });
});

describe('upload sessions', () => {
  it('needs no session for a blob already here', async () => {
    const blob = await stored('already here');
    expect(await exchange.startUpload(blob.sha256, blob.size)).toEqual({ sha256: blob.sha256, present: true, sessionId: null, partSize: 0, parts: [] });
  });

  it('cuts parts of at least 16 MiB and never more than 10 000 of them', () => {
    expect(partSizeFor(1)).toBe(16 * 1024 * 1024);
    expect(partSizeFor(10_000 * 16 * 1024 * 1024)).toBe(16 * 1024 * 1024);
    const huge = 5 * 1024 ** 4;
    expect(Math.ceil(huge / partSizeFor(huge))).toBeLessThanOrEqual(10_000);
  });
});
