import { Transform } from 'node:stream';
import type { ArtifactService, IndexedBlobStore } from '@trainyard/artifacts';
import type { SqlQueryable } from '@trainyard/db';
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

/** Blob writes in flight at once: each waits on the disk (libuv's threads do the file calls). */
const WRITES_IN_FLIGHT = 16;
/**
 * Blobs downloaded and not yet written are held up to these bounds; a batch's download waits
 * while they are full. So the batches' downloads run ahead of the disk and the shared server
 * is asked for the next batch while this one is written — before, a batch held its slot until
 * its last blob was on disk, and the shared server sat idle between rounds (issue #24).
 */
const WRITE_BACKLOG = { bytes: 8 * 1024 * 1024, blobs: 1_000 };
/**
 * Blobs a pull writes before it records them: each commit makes every file written since the
 * last one durable (one syncfs on Linux, else an fsync per file and directory) and writes the
 * index rows in one statement. A crash loses at most this many index rows — those blobs are
 * simply fetched again.
 */
const COMMIT_EVERY_BLOBS = 10_000;

/**
 * Writes the blobs of every batch of a pull, WRITES_IN_FLIGHT at a time, each verified against
 * its hash as it is stored, and records them in the index every COMMIT_EVERY_BLOBS and at
 * `commit` (commits run one at a time). `write` waits while the backlog is full, and throws once
 * any write failed.
 */
const blobWriter = (deps: BlobPullDeps) => {
  const writer = deps.blobs.batch();
  const limit = pLimit(WRITES_IN_FLIGHT);
  const backlog = { bytes: 0, blobs: 0 };
  let drained: Array<() => void> = [];
  let failure: { error: unknown } | undefined;
  let uncommitted = 0;
  // Commits run one after another (the store orders only its flushes). Once one failed, none
  // runs again: the store may have dropped directories whose fsync failed, and a later commit
  // would record blobs in them.
  let committing: Promise<void> = Promise.resolve();
  const commit = (on?: SqlQueryable): Promise<void> => {
    // In a caller's transaction: after the commits before it, and its failure (maybe that
    // transaction's) does not stop the next one — the store's own failures stop every commit.
    if (on) return committing.then(() => writer.commit(on));
    uncommitted = 0;
    committing = committing.then(() => writer.commit());
    return committing;
  };
  const full = (bytes: number): boolean => backlog.blobs > 0 && (backlog.blobs >= WRITE_BACKLOG.blobs || backlog.bytes + bytes > WRITE_BACKLOG.bytes);
  const writeOne = async (bytes: Buffer, blob: { sha256: string; size: number }): Promise<void> => {
    await writer.put(bytes, blob.sha256);
    if (++uncommitted >= COMMIT_EVERY_BLOBS) await commit();
    await deps.report(blob.size);
  };
  const writes = new Set<Promise<void>>();
  return {
    async write(bytes: Buffer, blob: { sha256: string; size: number }): Promise<void> {
      while (!failure && full(bytes.length)) await new Promise<void>((resolve) => drained.push(resolve));
      if (failure) throw failure.error;
      backlog.bytes += bytes.length;
      backlog.blobs += 1;
      const write = limit(() => writeOne(bytes, blob))
        .catch((error: unknown) => void (failure ??= { error }))
        .finally(() => {
          backlog.bytes -= bytes.length;
          backlog.blobs -= 1;
          writes.delete(write);
          const waiting = drained;
          drained = [];
          for (const wake of waiting) wake();
        });
      writes.add(write);
    },
    /** Waits for every write; the first write failure, if any. */
    async drain(): Promise<{ error: unknown } | undefined> {
      while (writes.size > 0) await Promise.all(writes);
      return failure;
    },
    flush: () => writer.flush(),
    flushWritesIndex: writer.flushWritesIndex,
    commit,
  };
};
type BlobWriter = ReturnType<typeof blobWriter>;

/**
 * Small blobs in one request, split by the sizes the bundle lists and handed to the writer (a
 * server that sent other bytes than the bundle lists fails the hash check there). Done when its
 * bytes are read: the writes go on while the next batch downloads.
 */
const pullBatch = async (deps: BlobPullDeps, writer: BlobWriter, blobs: Array<{ sha256: string; size: number }>): Promise<void> => {
  const source = await deps.remote.downloadBlobBatch(blobs.map((blob) => blob.sha256));
  try {
    const reader = exactReader(source);
    for (const blob of blobs) await writer.write(await reader.exactly(blob.size), blob);
    await reader.assertEnd();
  } finally {
    source.destroy();
  }
};

/** Blobs downloaded and verified, being made durable; the caller records them. */
export interface PulledBlobs {
  /** Resolves once every pulled blob is durable and readable under its hash. */
  readable(): Promise<void>;
  /**
   * Records them in the index once readable — in `on` when given, the caller's transaction, so
   * what it registers becomes visible only with its blobs, and its own writes run while the disk
   * syncs. Called again without `on` after that transaction failed.
   */
  record(on?: SqlQueryable): Promise<void>;
}

/**
 * Downloads blobs into this machine's store: those already here (indexed, and found in the
 * store) are counted, not fetched; small ones in batches when the server serves them; each
 * verified against its hash as it is stored (a tampered blob is refused). When a download or
 * write fails, what was written is recorded (a retry does not fetch it again) and it throws;
 * else the caller records them.
 */
export const pullBlobs = async (
  deps: BlobPullDeps,
  blobs: ReadonlyArray<{ sha256: string; size: number }>,
  blobBatches: { maxBlobBytes: number; maxBlobs: number; maxBytes: number; manifestBytes: number } | undefined,
): Promise<PulledBlobs> => {
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
  const { guard: guarded, failed, rethrow } = stopAtFirstFailure();
  const writer = blobWriter(deps);
  await Promise.all([
    ...(blobBatches ? batchesOf(batched, blobBatches).map((batch) => batchLimit(guarded(() => pullBatch(deps, writer, batch)))) : []),
    ...single.map((blob) => oneAtATime(guarded(() => pullOne(deps, blob)))),
  ]);
  const writeFailure = await writer.drain();
  if (failed() || writeFailure) {
    // Every blob written is recorded, also when a transfer failed: a retry does not fetch it again.
    const unrecorded = await writer.commit().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    rethrow();
    if (writeFailure) throw writeFailure.error;
    if (unrecorded) throw unrecorded.error;
  }
  // The disk makes them durable while the caller goes on (a pull registers the version meanwhile).
  const flushed = writer.flush();
  flushed.catch(() => undefined); // awaited through `readable` and `record`
  // Unless the flush writes index rows on the store's own connection (packs): a transaction the
  // caller opens meanwhile would wait for it, and it for the transaction (PGlite is one connection).
  if (writer.flushWritesIndex) await flushed;
  return { readable: () => flushed, record: writer.commit };
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
  const pulled = await pullBlobs(deps, blobs, blobBatches);

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
      // A version's model files are checked (loaded) only once their blobs are readable.
      filesReadable: pulled.readable,
      async inTransaction(tx, versionId) {
        // The disk syncs the blobs while the version's rows are written; all commit together.
        const [recorded, written] = await Promise.allSettled([
          pulled.record(tx),
          (async () => {
            await deps.artifacts.insertForVersion(tx, versionId, bundle.artifacts);
            await deps.links.recordPull(tx, { remoteId: deps.remoteRow.id, localVersionId: versionId, remoteModel: bundle.model.name, remoteVersion });
            if (dataset)
              await deps.snapshots.importSnapshot(tx, dataset, {
                pulledFrom: { remote: deps.remoteRow.name, url: deps.remoteRow.url, snapshotId: dataset.id },
              });
          })(),
        ]);
        // The version's own failure first: the index rows' may only be its echo (an aborted transaction).
        if (written.status === 'rejected') throw written.reason;
        if (recorded.status === 'rejected') throw recorded.reason;
      },
    });
    return { localVersion: created.version, remoteVersion, created: true };
  } catch (error) {
    // The version was not registered; its blobs stay recorded, so a retry does not fetch them again.
    await pulled.record().catch(() => undefined);
    const winner = await linked();
    if (winner) return winner;
    throw error;
  }
};
