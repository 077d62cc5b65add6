import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createArtifactService, createFsBlobStore, createFsMultipartTarget, withBlobIndex } from '@trainyard/artifacts';
import { BUNDLE_ARTIFACT_PAGE, MAX_BUNDLE_ARTIFACTS, type VersionBundle } from '@trainyard/contracts';
import { isDomainError, sha256Hex } from '@trainyard/core';
import { createTestDatabase, type Database } from '@trainyard/db';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExchangeService, type ExchangeService } from './exchange.service';
import { partSizeFor } from './upload-sessions';

let root: string;
let database: Database;
let exchange: ExchangeService;
let services: {
  blobs: ReturnType<typeof withBlobIndex>;
  versions: ReturnType<typeof createModelVersionService>;
  models: ReturnType<typeof createModelRegistryService>;
  artifacts: ReturnType<typeof createArtifactService>;
};

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
  services = { blobs, versions, models, artifacts };
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
      artifactCount: 1,
      // Pullers may read its small blobs in batches.
      blobBatches: expect.objectContaining({ maxBlobs: 1_000 }),
    });
    const version = await services.versions.get(model, { version: 1 });
    expect(version.provenance).toMatchObject({ pushedFrom: bundle.origin, lineage: bundle.lineage });
  });
});

describe('versions of many artifacts', () => {
  const stagedRows = async (key: string): Promise<number> =>
    (await database.sql.query(`SELECT 1 FROM "StagedArtifactPage" WHERE "idempotencyKey" = $1`, [key])).length;

  it('registers a version whose records were staged in pages (named in page order), once, and forgets the pages', async () => {
    const model = `ex-${++count}`;
    const blobs = await Promise.all([1, 2, 3].map((n) => stored(`staged ${model} ${n}`)));
    const { artifacts, ...rest } = bundleOf(model, blobs);
    const key = `version:${model}`;
    await exchange.stageArtifacts(key, 1, artifacts.slice(2));
    // A resumed push stages a page again: it replaces itself, nothing is counted twice.
    await exchange.stageArtifacts(key, 0, artifacts.slice(0, 2));
    await exchange.stageArtifacts(key, 0, artifacts.slice(0, 2));
    const bundle = { ...rest, artifacts: [], artifactCount: 3 };
    expect(await exchange.receiveVersion(key, bundle, 'token:ci')).toEqual({ model, version: 1, created: true });
    expect(await stagedRows(key)).toBe(0);
    const described = await exchange.describeVersion(model, { version: 1 });
    expect(described.artifacts.map((a) => a.name)).toEqual(['a0.bin', 'a1.bin', 'a2.bin']);
    expect(described.artifactCount).toBe(3);
    // The same push again (its pages staged anew): the first version, and the pages dropped.
    await exchange.stageArtifacts(key, 0, artifacts);
    expect(await exchange.receiveVersion(key, bundle, 'token:ci')).toEqual({ model, version: 1, created: false });
    expect(await stagedRows(key)).toBe(0);
  });

  it('refuses a staged push with a page missing, or a bundle with part of its records, and creates nothing', async () => {
    const model = `ex-${++count}`;
    const blobs = await Promise.all([1, 2, 3].map((n) => stored(`gap ${model} ${n}`)));
    const { artifacts, ...rest } = bundleOf(model, blobs);
    const key = `version:${model}`;
    await exchange.stageArtifacts(key, 1, artifacts.slice(2));
    const gap = await exchange.receiveVersion(key, { ...rest, artifacts: [], artifactCount: 3 }, 'token:ci').catch((e: unknown) => e);
    expect(isDomainError(gap) && { code: gap.code, details: gap.details }).toEqual({ code: 'FAILED_PRECONDITION', details: { staged: 1, expected: 3 } });
    const partial = await exchange.receiveVersion(key, { ...rest, artifacts: artifacts.slice(0, 1), artifactCount: 3 }, 'token:ci').catch((e: unknown) => e);
    expect(isDomainError(partial) && partial.code).toBe('INVALID_ARGUMENT');
    expect(await services.models.exists(model)).toBe(false);
    // Pages of a push that never registers go with the sweep.
    expect(await exchange.sweepStagedArtifacts(0)).toBeGreaterThanOrEqual(1);
    expect(await stagedRows(key)).toBe(0);
  });

  it(`describes a version of more than ${MAX_BUNDLE_ARTIFACTS} artifacts only to a puller that pages, and pages through all of them`, async () => {
    const model = `ex-${++count}`;
    await services.models.register({ name: model, description: '', tags: [], metadata: {} }, 'token:ci');
    const total = MAX_BUNDLE_ARTIFACTS + 1;
    const records = Array.from({ length: total }, (_unused, index) => ({
      name: `part-${String(index).padStart(6, '0')}`,
      type: 'checkpoint',
      mediaType: 'application/octet-stream',
      sha256: sha256Hex(`record ${index}`),
      size: 1,
      metadata: {},
    }));
    await services.versions.create({ model, description: '', metrics: {}, tags: [], artifactIds: [], gate: [] }, 'token:ci', {
      inTransaction: (tx, versionId) => services.artifacts.insertForVersion(tx, versionId, records),
    });
    // An older puller would take the first page for the whole version: it is refused, saying why.
    const refused = await exchange.describeVersion(model, { version: 1 }).catch((e: unknown) => e);
    expect(isDomainError(refused) && { code: refused.code, details: refused.details }).toEqual({
      code: 'FAILED_PRECONDITION',
      details: { artifactCount: total, paged: 'required' },
    });
    const first = await exchange.describeVersion(model, { version: 1 }, true);
    expect({ listed: first.artifacts.length, count: first.artifactCount }).toEqual({ listed: BUNDLE_ARTIFACT_PAGE, count: total });
    const names = first.artifacts.map((a) => a.name);
    while (names.length < total) names.push(...(await exchange.versionArtifacts(model, 1, names.length, BUNDLE_ARTIFACT_PAGE)).artifacts.map((a) => a.name));
    expect(names).toEqual(records.map((r) => r.name));
    // The version's answer lists its first 1 000 ids and the count.
    const version = await services.versions.get(model, { version: 1 });
    expect({ ids: version.artifactIds.length, count: version.artifactCount }).toEqual({ ids: 1_000, count: total });
  }, 60_000);
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
