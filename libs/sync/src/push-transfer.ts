import { buffer } from 'node:stream/consumers';
import { type BlobStore, type CompletedPart, partCount } from '@trainyard/artifacts';
import { type BlobBatchLimits, BUNDLE_ARTIFACT_PAGE, MAX_BUNDLE_ARTIFACTS, type UploadPlan, type VersionBundle, type VersionRef } from '@trainyard/contracts';
import { DomainError, isDomainError } from '@trainyard/core';
import pLimit from 'p-limit';
import { isMissingBlobs } from './outbox-failure';
import type { ProgressUpdate } from './progress-writer';
import type { RemoteServer } from './remote-server.port';
import { BATCH_CONCURRENCY, batchesOf, stopAtFirstFailure, uniqueByHash } from './blob-batching';
import { buildVersionBundle, type VersionBundleDeps } from './version-bundle';

/**
 * Blobs below this size go in one `PUT /blobs`, which the shared server hashes as it streams
 * them into its store; larger ones in resumable parts straight to S3, which the server then reads
 * back through SHA-256. At 16 MiB that read-back made the push of a 58.5 MB dataset snapshot take
 * 1.59× `aws s3 cp` (issue #27); under 64 MiB a dropped connection costs at most one such blob
 * again, which resumable parts only beat on a link slower than the read-back.
 */
export const SMALL_BLOB_BYTES = 64 * 1024 * 1024;
// Small blobs go 16 at a time: each is a round trip through the server to S3, so latency,
// not bandwidth, bounds them (`aws s3 sync` keeps 10 requests in flight; 8 at a time here took
// 1.42–1.49× its time, 16 took 1.25×).
const SMALL_BLOB_CONCURRENCY = 16;
// A blob PUT of 16 MiB or more holds up to a multipart upload's parts in the shared server's
// memory (S3_PART_SIZE_MB × S3_UPLOAD_CONCURRENCY, 64 MiB by default): two at a time, not 16.
const BIG_PUT_BYTES = 16 * 1024 * 1024;
const BIG_PUT_CONCURRENCY = 2;
const PART_CONCURRENCY = 4;

/** Saved in the outbox entry after every part, so an interrupted push resumes where it stopped. */
export interface PushProgress {
  uploads?: Record<string, { sessionId: string; parts: Record<string, string> }>;
}

export interface PushContext {
  remote: RemoteServer;
  blobs: BlobStore;
  progress: PushProgress;
  /** Persists progress; `bytes` more are on the remote (counted again from zero at every attempt). */
  report(bytes: number, progress: PushProgress): Promise<void>;
  /** The bytes of every blob of the push (known once negotiation said whether the dataset goes). */
  total?(bytes: number): Promise<void>;
}

/** One part's bytes, read by range from the local store; the server verifies the whole blob. */
const readPart = async (context: PushContext, sha256: string, start: number, length: number): Promise<Buffer> => {
  const bytes = await buffer(await context.blobs.readRangeUnverified(sha256, { start, end: start + length - 1 }));
  if (bytes.length !== length) throw new DomainError('INTEGRITY', `The local copy of blob ${sha256} is shorter than its recorded size; it cannot be pushed`);
  return bytes;
};

const uploadLarge = async (context: PushContext, sha256: string, size: number): Promise<void> => {
  const saved = context.progress.uploads?.[sha256];
  let plan: UploadPlan | undefined;
  if (saved) {
    plan = await context.remote.resumeUpload(saved.sessionId).catch((error: unknown) => {
      // The server forgot the session (expired or completed by an earlier attempt): start over.
      if (isDomainError(error) && error.code === 'NOT_FOUND') return undefined;
      throw error;
    });
  }
  const done: Record<string, string> = plan && saved ? { ...saved.parts } : {};
  plan ??= await context.remote.startUpload(sha256, size);
  if (plan.present || !plan.sessionId) return context.report(size, context.progress);
  const sessionId = plan.sessionId;
  const uploads = (context.progress.uploads ??= {});
  uploads[sha256] = { sessionId, parts: done };
  await context.report(0, context.progress);

  const limit = pLimit(PART_CONCURRENCY);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const activePlan = plan;
  for (let number = 1; number <= partCount(size, plan.partSize) && !failure; number++) {
    const start = (number - 1) * plan.partSize;
    const length = Math.min(plan.partSize, size - start);
    // Parts sent by an earlier attempt are neither read nor sent again.
    if (done[String(number)]) {
      await context.report(length, context.progress);
      continue;
    }
    const partNumber = number;
    const task = limit(async () => {
      const bytes = await readPart(context, sha256, start, length);
      // A part failed while this one was read: the attempt is lost, so this part waits for the
      // retry instead of going into what is likely the same broken network (parts already on the
      // wire finish and count; the retry skips them).
      if (failure) return;
      const etag = await context.remote.uploadPart(activePlan, partNumber, bytes);
      done[String(partNumber)] = etag;
      await context.report(length, context.progress);
    }).catch((error: unknown) => {
      failure ??= error;
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
    // Keep memory flat: at most PART_CONCURRENCY parts are read and in flight.
    while (inFlight.size >= PART_CONCURRENCY) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  const parts: CompletedPart[] = Object.entries(done).map(([n, etag]) => ({ number: Number(n), etag }));
  await context.remote.completeUpload(sessionId, parts);
  delete uploads[sha256];
  await context.report(0, context.progress);
};

/** Hashes per negotiation call: the server takes at most this many (`missingBlobsInput`). */
const NEGOTIATION_PAGE = 10_000;

/** The hashes the server lacks, asked in pages of NEGOTIATION_PAGE; whether it takes blob batches, and dataset data (undefined: an older server). */
const negotiate = async (
  remote: RemoteServer,
  hashes: string[],
): Promise<{ missing: Set<string>; batches: BlobBatchLimits | undefined; acceptsDatasets: boolean | undefined }> => {
  const missing = new Set<string>();
  let batches: BlobBatchLimits | undefined;
  let acceptsDatasets: boolean | undefined;
  for (let start = 0; start < hashes.length || start === 0; start += NEGOTIATION_PAGE) {
    const answer = await remote.missingBlobs(hashes.slice(start, start + NEGOTIATION_PAGE));
    for (const hash of answer.missing) missing.add(hash);
    batches = answer.blobBatches;
    acceptsDatasets = answer.acceptsDatasets;
  }
  return { missing, batches, acceptsDatasets };
};

/** One batch: the bytes of each blob read from the local store (verified as read) in manifest order. */
const sendBatch = async (context: PushContext, blobs: Array<{ sha256: string; size: number }>): Promise<void> => {
  await context.remote.putBlobBatch({ blobs }, async function* () {
    for (const blob of blobs) {
      let length = 0;
      for await (const chunk of await context.blobs.read(blob.sha256)) {
        length += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (length !== blob.size) throw new DomainError('INTEGRITY', `The local copy of blob ${blob.sha256} is not its recorded size; it cannot be pushed`);
    }
  });
  await context.report(
    blobs.reduce((sum, blob) => sum + blob.size, 0),
    context.progress,
  );
};

/**
 * Sends the blobs the server lacks (negotiated in pages of 10 000); returns how many were sent.
 * `dataset` (a snapshot's data blob) is one more blob of the set, sent only when the server
 * takes dataset data (`datasetSent`; `acceptsDatasets` undefined: an older server, which does
 * not). Small blobs go many to a request when the server takes batches (`POST /blob-batches`),
 * else one `PUT /blobs` each; large ones in resumable parts.
 */
export const pushBlobs = async (
  context: PushContext,
  blobList: ReadonlyArray<{ sha256: string; size: number }>,
  dataset?: { sha256: string; size: number },
): Promise<{ uploaded: number; skippedBytes: number; datasetSent: boolean; acceptsDatasets: boolean | undefined }> => {
  const unique = uniqueByHash(blobList);
  const extra = dataset && !unique.some((blob) => blob.sha256 === dataset.sha256) ? dataset : undefined;
  const { missing, batches, acceptsDatasets } = await negotiate(context.remote, [...unique.map((blob) => blob.sha256), ...(extra ? [extra.sha256] : [])]);
  const datasetSent = dataset !== undefined && acceptsDatasets === true;
  const sending = datasetSent && extra ? [...unique, extra] : unique;
  await context.total?.(sending.reduce((sum, blob) => sum + blob.size, 0));
  // In the version's order, not the server's answer's: a batch's blobs are stored side by side
  // (a pack, on S3), and a puller asks for them in this order, so it reads them back in a few
  // ranged reads instead of one per blob. Plain { sha256, size } (a batch's manifest is exactly that).
  let skippedBytes = 0;
  const batched: Array<{ sha256: string; size: number }> = [];
  const others: Array<{ sha256: string; size: number }> = [];
  for (const { sha256, size } of sending) {
    if (!missing.has(sha256)) skippedBytes += size;
    else (batches && size <= batches.maxBlobBytes ? batched : others).push({ sha256, size });
  }
  missing.clear();
  await context.report(skippedBytes, context.progress);
  const single = pLimit(SMALL_BLOB_CONCURRENCY);
  const big = pLimit(BIG_PUT_CONCURRENCY);
  const batchLimit = pLimit(BATCH_CONCURRENCY);
  const { guard: guarded, rethrow } = stopAtFirstFailure();
  await Promise.all([
    ...(batches ? batchesOf(batched, batches).map((batch) => batchLimit(guarded(() => sendBatch(context, batch)))) : []),
    ...others.map(({ sha256, size }) => {
      if (size >= SMALL_BLOB_BYTES) return guarded(() => uploadLarge(context, sha256, size))();
      return (size >= BIG_PUT_BYTES ? big : single)(
        guarded(async () => {
          await context.remote.putBlob(sha256, size, () => context.blobs.read(sha256));
          await context.report(size, context.progress);
        }),
      );
    }),
  ]);
  rethrow();
  return { uploaded: batched.length + others.length, skippedBytes, datasetSent, acceptsDatasets };
};

/**
 * The bundle as sent: `datasetData` says whether the pusher sends the snapshot's data (to a
 * server that does not take datasets it says so, uploads nothing, and the server records the
 * data as withheld by itself). An older server (no `acceptsDatasets` in its answer) gets the
 * bundle as it knew it: its strict schema refuses fields it does not know — the snapshot's
 * `blobSize`, and the training job's trainer identity (issue #27, the same release).
 */
const wireBundle = (bundle: VersionBundle, sendsDataset: boolean, acceptsDatasets: boolean | undefined): VersionBundle => {
  if (acceptsDatasets !== undefined) {
    return bundle.lineage.datasetSnapshot ? { ...bundle, datasetData: sendsDataset ? 'included' : 'withheld' } : bundle;
  }
  const { datasetSnapshot: snapshot, trainingJob: job } = bundle.lineage;
  const { blobSize: _size, ...manifest } = snapshot ?? { blobSize: undefined };
  const { identity: _identity, ...configuration } = job ?? { identity: undefined };
  return {
    ...bundle,
    lineage: { ...bundle.lineage, datasetSnapshot: snapshot ? (manifest as typeof snapshot) : null, trainingJob: job ? (configuration as typeof job) : null },
  };
};

/**
 * JSON bytes of artifact records one request carries: the request body limit is 10 MiB by
 * default, and records with long names or large metadata reach it well before 10 000 of them.
 */
const STAGED_PAGE_BYTES = 4 * 1024 * 1024;

/** The records in pages of at most BUNDLE_ARTIFACT_PAGE and STAGED_PAGE_BYTES of JSON, in order. */
const pagesOf = (artifacts: VersionBundle['artifacts']): Array<VersionBundle['artifacts']> => {
  const pages: Array<VersionBundle['artifacts']> = [];
  let page: VersionBundle['artifacts'] = [];
  let bytes = 0;
  for (const artifact of artifacts) {
    const size = Buffer.byteLength(JSON.stringify(artifact)) + 1;
    if (page.length > 0 && (page.length >= BUNDLE_ARTIFACT_PAGE || bytes + size > STAGED_PAGE_BYTES)) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(artifact);
    bytes += size;
  }
  if (page.length > 0) pages.push(page);
  return pages;
};

/**
 * The bundle as registered: whole when its records fit one request (at most MAX_BUNDLE_ARTIFACTS,
 * what every server takes, in one page of JSON); else its records staged first in pages under the
 * push's key, and the bundle sent with none and their count. A resumed push stages the same
 * pages again, each replacing itself on the server.
 */
const stagedIfLarge = async (remote: RemoteServer, versionKey: string, bundle: VersionBundle): Promise<VersionBundle> => {
  const pages = pagesOf(bundle.artifacts);
  if (bundle.artifacts.length <= MAX_BUNDLE_ARTIFACTS && pages.length <= 2) return bundle;
  for (const [index, page] of pages.entries()) await remote.stageArtifacts(versionKey, index, page);
  return { ...bundle, artifacts: [], artifactCount: bundle.artifacts.length };
};

/**
 * Pushes a local version: builds its bundle, sends the blobs the server lacks (resuming from
 * `saved`) — its dataset snapshot's data blob too, unless `includeDataset` is false or the
 * server does not take datasets — and registers the version there. Keyed by the version itself,
 * not by the outbox entry: the same version reaching the same server by any route (another
 * remote name, a second entry) registers once. Returns the local version's id and the server's answer.
 */
export const pushVersion = async (
  deps: VersionBundleDeps & { blobs: BlobStore },
  work: { model: string; ref: VersionRef; saved: PushProgress; includeDataset: boolean },
  remote: RemoteServer,
  report: (bytes: number, update?: ProgressUpdate) => Promise<void>,
): Promise<{ versionId: string; result: { model: string; version: number; created: boolean } }> => {
  const { bundle, versionId } = await buildVersionBundle(deps, work.model, work.ref);
  const snapshot = bundle.lineage.datasetSnapshot;
  const dataset = work.includeDataset && snapshot?.blobSize !== undefined ? { sha256: snapshot.blobSha256, size: snapshot.blobSize } : undefined;
  const context: PushContext = {
    remote,
    blobs: deps.blobs,
    progress: work.saved,
    report: (bytes, state) => report(bytes, { progress: state }),
    total: (bytes) => report(0, { bytesTotal: bytes }),
  };
  const pushed = await pushBlobs(context, bundle.artifacts, dataset);
  const versionKey = `version:${versionId}`;
  const sent = await stagedIfLarge(remote, versionKey, bundle);
  const result = await remote.receiveVersion(versionKey, wireBundle(sent, dataset !== undefined, pushed.acceptsDatasets)).catch(async (error: unknown) => {
    // The server may have collected blobs of a push that paused longer than its GC grace
    // period (it says which, in details.missing): negotiate again, send them, register once more.
    if (!isMissingBlobs(error)) throw error;
    const again = await pushBlobs(context, bundle.artifacts, dataset);
    return remote.receiveVersion(versionKey, wireBundle(sent, dataset !== undefined, again.acceptsDatasets));
  });
  return { versionId, result };
};
