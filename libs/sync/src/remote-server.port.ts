import type { Readable } from 'node:stream';
import type { CompletedPart } from '@trainyard/artifacts';
import type {
  BlobBatchLimits,
  BlobBatchManifest,
  DatasetSnapshotManifest,
  MissingBlobsOutput,
  SnapshotOutput,
  UploadPlan,
  VersionBundle,
  VersionRef,
} from '@trainyard/contracts';

/** How this machine talks to one shared server (adapter: the typed client + HTTP, in apps/server; the other end is libs/exchange). */
export interface RemoteServer {
  /** At most 10 000 hashes a call; `blobBatches` when the server takes `putBlobBatch`. */
  missingBlobs(hashes: string[]): Promise<MissingBlobsOutput>;
  /** Small blobs in one request (`PUT /blobs/sha256/<hash>`, verified by the server). */
  putBlob(sha256: string, size: number, body: () => Promise<Readable>): Promise<void>;
  /**
   * Many small blobs in one request (`POST /blob-batches`: the manifest line, then the bytes of
   * each blob in its order, which `bytes` yields), each verified by the server.
   */
  putBlobBatch(manifest: BlobBatchManifest, bytes: () => AsyncIterable<Uint8Array>): Promise<void>;
  startUpload(sha256: string, size: number): Promise<UploadPlan>;
  resumeUpload(sessionId: string): Promise<UploadPlan>;
  /** PUT one part to its presigned URL (or to the server); returns the part's ETag. */
  uploadPart(plan: UploadPlan, partNumber: number, body: Buffer): Promise<string>;
  completeUpload(sessionId: string, parts: CompletedPart[]): Promise<void>;
  receiveVersion(idempotencyKey: string, bundle: VersionBundle): Promise<{ model: string; version: number; created: boolean }>;
  /**
   * Stages one page (≤ 10 000) of a version's artifact records before `receiveVersion` with the
   * same key names `artifactCount` and no artifacts (a version of more than 20 000).
   */
  stageArtifacts(idempotencyKey: string, page: number, artifacts: VersionBundle['artifacts']): Promise<void>;
  /**
   * The bundle, and `blobBatches` when the server serves `downloadBlobBatch`. `paged`: the caller
   * reads a large version's artifacts with `versionArtifacts` (the bundle lists the first page and
   * `artifactCount`); without it, a version of more than 20 000 is refused.
   */
  describeVersion(model: string, ref: VersionRef, paged?: boolean): Promise<VersionBundle & { blobBatches?: BlobBatchLimits }>;
  /** A page of a version's artifact records, in the bundle's order. */
  versionArtifacts(model: string, version: number, offset: number, limit: number): Promise<VersionBundle['artifacts']>;
  downloadBlob(sha256: string): Promise<Readable>;
  /** Registers a snapshot alone once its data blob is there (`sync.receiveSnapshot`). */
  receiveSnapshot(manifest: DatasetSnapshotManifest & { blobSize: number }, origin: string): Promise<{ id: string; created: boolean }>;
  /** A snapshot the server holds (`sync.describeSnapshot`). */
  describeSnapshot(id: string): Promise<DatasetSnapshotManifest & { blobSize: number }>;
  /** The snapshots the server holds, newest first (`datasets.list`). */
  listSnapshots(limit: number, cursor?: string): Promise<{ items: SnapshotOutput[]; nextCursor: string | null }>;
  /** The bytes of small blobs one after another in the order asked (`POST /blob-batches/read`); the caller verifies each. */
  downloadBlobBatch(hashes: string[]): Promise<Readable>;
}

export type RemoteServerFactory = (remote: { url: string; token: string }) => RemoteServer;

/** Where remote tokens live: a 0600 file on this machine, never the database. */
export interface RemoteSecrets {
  get(remoteId: string): Promise<string | undefined>;
  set(remoteId: string, token: string): Promise<void>;
  delete(remoteId: string): Promise<void>;
}
