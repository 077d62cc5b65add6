import { Transform } from 'node:stream';
import type { ArtifactService, IndexedBlobStore } from '@trainyard/artifacts';
import { BUNDLE_ARTIFACT_PAGE, type VersionBundle, type VersionRef } from '@trainyard/contracts';
import { importBundledVersion, type ModelRegistryService, type ModelVersionService } from '@trainyard/registry';
import { DomainError, exactReader, isDomainError } from '@trainyard/core';
import pLimit from 'p-limit';
import { BATCH_CONCURRENCY, batchesOf, stopAtFirstFailure, uniqueByHash } from './blob-batching';
import type { RemoteServer } from './remote-server.port';
import type { RemoteRecord } from './remotes';
import type { LocalSnapshots, SnapshotWithData } from './version-bundle';
import type { VersionLinks } from './version-links';

export interface PullDeps {
  blobs: IndexedBlobStore;
  models: ModelRegistryService;
  versions: ModelVersionService;
  artifacts: Pick<ArtifactService, 'insertForVersion'>;
  links: VersionLinks;
  remote: RemoteServer;
  remoteRow: RemoteRecord;
  report(bytes: number, total?: number): Promise<void>;
  /** Where a pulled version's snapshot is registered (datasets' snapshot service). */
  snapshots: LocalSnapshots;
}

/** What downloading blobs needs: the local store, the remote, and a progress report. */
export type BlobPullDeps = Pick<PullDeps, 'blobs' | 'remote' | 'report'>;

/**
 * Refuses, before a byte is downloaded, a snapshot whose id is here with other data (the same
 * check is made again when it is registered): one id never names two datasets.
 */
export const assertNoSnapshotConflict = async (snapshots: LocalSnapshots, snapshot: SnapshotWithData): Promise<void> => {
  const here = (await snapshots.hashOf(snapshot.id))?.trim();
  if (here && here !== snapshot.blobSha256) {
    throw new DomainError(
      'CONFLICT',
      `Dataset snapshot ${snapshot.id} exists here with other data (content hash ${here}, the remote has ${snapshot.blobSha256}); snapshots are immutable, so it is not replaced`,
      { id: snapshot.id, here, arriving: snapshot.blobSha256 },
    );
  }
};

const counting = (report: (bytes: number) => void): Transform =>
  new Transform({
    transform(chunk: Buffer, _encoding, done) {
      report(chunk.length);
      done(null, chunk);
    },
  });

/** One blob through `GET /blobs`, verified as it is stored. */
const pullOne = async (deps: BlobPullDeps, artifact: { sha256: string; size: number }): Promise<void> => {
  const source = await deps.remote.downloadBlob(artifact.sha256);
  let pending = 0;
  const meter = counting((bytes) => {
    pending += bytes;
  });
  source.on('error', (error) => meter.destroy(error));
  // The store may not read `meter` at once (it checks the index first): a server that
  // drops the connection then must fail this pull, not crash the process. put() still
  // fails: reading a destroyed stream rejects.
  meter.on('error', () => undefined);
  const timer = setInterval(() => {
    const bytes = pending;
    pending = 0;
    void deps.report(bytes);
  }, 250);
  try {
    await deps.blobs.put(source.pipe(meter), { expectedSha256: artifact.sha256 });
  } finally {
    clearInterval(timer);
    await deps.report(pending);
  }
};

/** Blobs of one batch written to the local store at once: each write waits on the disk (fsync). */
const WRITES_IN_FLIGHT = 8;

/**
 * Small blobs in one request, split by the sizes the bundle lists; each verified as it is
 * stored. Written through the index's batch writer: the blobs of a batch are recorded in one
 * statement at the end (also when the batch fails part way), not two index queries each — on
 * a laptop's PGlite those queries were the largest cost of a pull of 1 000 small blobs.
 */
const pullBatch = async (deps: BlobPullDeps, blobs: Array<{ sha256: string; size: number }>): Promise<void> => {
  const source = await deps.remote.downloadBlobBatch(blobs.map((blob) => blob.sha256));
  const reader = exactReader(source);
  const writer = deps.blobs.batch();
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for (const blob of blobs) {
      const bytes = await reader.exactly(blob.size);
      // A server that sent other bytes than the bundle lists fails the hash check here.
      const write = writer.put(bytes, blob.sha256).then(
        () => deps.report(blob.size),
        (error: unknown) => void (failure ??= { error }),
      );
      inFlight.add(write);
      void write.finally(() => inFlight.delete(write));
      while (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) throw failure.error;
    }
    await reader.assertEnd();
  } finally {
    await Promise.all(inFlight);
    source.destroy();
    await writer.commit();
  }
  if (failure) throw failure.error;
};

/**
 * Downloads blobs into this machine's store: those already here (indexed, and found in the
 * store) are counted, not fetched; small ones in batches when the server serves them; each
 * verified against its hash as it is stored (a tampered blob is refused).
 */
export const pullBlobs = async (
  deps: BlobPullDeps,
  blobs: ReadonlyArray<{ sha256: string; size: number }>,
  blobBatches: { maxBlobBytes: number; maxBlobs: number; maxBytes: number; manifestBytes: number } | undefined,
): Promise<void> => {
  const unique = uniqueByHash(blobs);
  // Index queries of 10 000 hashes; a blob the index names is still looked at in the store (a
  // file removed by hand is pulled again), one the index lacks is simply fetched.
  const indexed = await deps.blobs.present(unique.map((blob) => blob.sha256));
  // Small blobs many to a request when the server serves batches; the rest one GET each.
  const batched: typeof unique = [];
  const single: typeof unique = [];
  for (const blob of unique) {
    if (indexed.has(blob.sha256) && (await deps.blobs.stat(blob.sha256))) await deps.report(blob.size);
    else (blobBatches && blob.size <= blobBatches.maxBlobBytes ? batched : single).push(blob);
  }
  const oneAtATime = pLimit(4);
  const batchLimit = pLimit(BATCH_CONCURRENCY);
  const { guard: guarded, rethrow } = stopAtFirstFailure();
  await Promise.all([
    ...(blobBatches ? batchesOf(batched, blobBatches).map((batch) => batchLimit(guarded(() => pullBatch(deps, batch)))) : []),
    ...single.map((blob) => oneAtATime(guarded(() => pullOne(deps, blob)))),
  ]);
  rethrow();
};

/**
 * A remote version's bundle with all its artifact records. A version of more than 20 000 is
 * described only to a caller that pages (the server refuses the plain read, which an older puller
 * makes): its records come in pages of BUNDLE_ARTIFACT_PAGE, and their number is checked.
 */
const describeWhole = async (remote: RemoteServer, model: string, ref: VersionRef): Promise<Awaited<ReturnType<RemoteServer['describeVersion']>>> => {
  const described = await remote.describeVersion(model, ref).catch((error: unknown) => {
    if (isDomainError(error) && error.code === 'FAILED_PRECONDITION' && error.details?.['paged'] === 'required')
      return remote.describeVersion(model, ref, true);
    throw error;
  });
  const count = described.artifactCount ?? described.artifacts.length;
  if (count === described.artifacts.length) return described;
  const artifacts: VersionBundle['artifacts'] = [...described.artifacts];
  while (artifacts.length < count) {
    const page = await remote.versionArtifacts(described.model.name, described.version.version, artifacts.length, BUNDLE_ARTIFACT_PAGE);
    if (page.length === 0) break;
    for (const artifact of page) artifacts.push(artifact);
  }
  if (artifacts.length !== count) {
    throw new DomainError('INTEGRITY', `The server described ${count} artifacts of the version but listed ${artifacts.length}; nothing was pulled`, {
      described: count,
      listed: artifacts.length,
    });
  }
  return { ...described, artifacts };
};

/**
 * Downloads a shared server's version into this machine: every blob is verified against its hash
 * as it is stored (a tampered blob is refused), then the version is registered locally with
 * its origin; the local↔remote link makes a repeated pull a no-op. When the server holds the
 * version's dataset snapshot (`datasetData: included`), its data blob comes too and the
 * snapshot is registered here under the same id and hash, in the version's transaction.
 */
export const pullVersion = async (
  deps: PullDeps,
  model: string,
  ref: VersionRef,
  actor: string,
): Promise<{ localVersion: number; remoteVersion: number; created: boolean }> => {
  const { blobBatches, datasetData, artifactCount: _count, ...bundle } = await describeWhole(deps.remote, model, ref);
  const remoteVersion = bundle.version.version;
  const linked = async () => {
    const localVersionId = await deps.links.localVersionOf(deps.remoteRow.id, bundle.model.name, remoteVersion);
    if (!localVersionId) return undefined;
    const [local] = await deps.versions.numbersOf([localVersionId]);
    return local ? { localVersion: local.version, remoteVersion, created: false } : undefined;
  };
  const existing = await linked();
  if (existing) return existing;

  const manifest = bundle.lineage.datasetSnapshot;
  const dataset: SnapshotWithData | null = datasetData === 'included' && manifest?.blobSize !== undefined ? { ...manifest, blobSize: manifest.blobSize } : null;
  if (dataset) await assertNoSnapshotConflict(deps.snapshots, dataset);
  const blobs = [...bundle.artifacts, ...(dataset ? [{ sha256: dataset.blobSha256, size: dataset.blobSize }] : [])];
  await deps.report(
    0,
    blobs.reduce((sum, blob) => sum + blob.size, 0),
  );
  await pullBlobs(deps, blobs, blobBatches);

  const pulledFrom = { remote: deps.remoteRow.name, url: deps.remoteRow.url, model: bundle.model.name, version: remoteVersion, origin: bundle.origin };
  try {
    const created = await importBundledVersion(deps, bundle, actor, {
      provenance: {
        pulledFrom,
        lineage: bundle.lineage,
        validation: bundle.version.validation ?? null,
        ...(manifest ? { dataset: { snapshotId: manifest.id, data: dataset ? 'included' : 'withheld' } } : {}),
      },
      ...(dataset ? { datasetSnapshotId: dataset.id } : {}),
      async inTransaction(tx, versionId) {
        await deps.artifacts.insertForVersion(tx, versionId, bundle.artifacts);
        await deps.links.recordPull(tx, { remoteId: deps.remoteRow.id, localVersionId: versionId, remoteModel: bundle.model.name, remoteVersion });
        if (dataset)
          await deps.snapshots.importSnapshot(tx, dataset, { pulledFrom: { remote: deps.remoteRow.name, url: deps.remoteRow.url, snapshotId: dataset.id } });
      },
    });
    return { localVersion: created.version, remoteVersion, created: true };
  } catch (error) {
    const winner = await linked();
    if (winner) return winner;
    throw error;
  }
};
