import { z } from 'zod';
import { artifactName, artifactType, sha256Schema } from './artifacts.schema';
import { asyncIterableOf, JSON_LIMITS, jsonValue, LIMITS, pageInput, seedSchema, storedJson } from './common.schema';
import { MAX_VERSION_ARTIFACTS, metadata, metrics, modelName, tags, type VersionRef, versionRef } from './registry.schema';

/**
 * What an API token may do: `read` reads; `write` also changes data (push, import, register);
 * `train` reads and creates and controls training jobs (nothing else: a cluster job runs code, so
 * it gets its own scope); `admin` everything.
 */
export const TOKEN_SCOPES = ['read', 'write', 'train', 'admin'] as const;
export const tokenScope = z.enum(TOKEN_SCOPES);
export type TokenScope = z.infer<typeof tokenScope>;

/** The scopes whose tokens may do what each scope names (reading is everyone's; `admin` may do all). */
const GRANTED_BY: Record<TokenScope, readonly TokenScope[]> = {
  read: ['read', 'write', 'train', 'admin'],
  write: ['write', 'admin'],
  train: ['train', 'admin'],
  admin: ['admin'],
};
/** Whether a token of scope `held` may do what needs `needed`. */
export const scopeAllows = (held: TokenScope, needed: TokenScope): boolean => GRANTED_BY[needed].includes(held);

export const remoteName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'use lowercase letters, digits, _ and -, starting with a letter');

export const addRemoteInput = z.strictObject({
  name: remoteName,
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2_048),
  token: z
    .string()
    .min(16)
    .max(1_024)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
});
export const remoteRefInput = z.strictObject({ name: remoteName });

/** `includeDataset` false (`--no-dataset`): the version's snapshot manifest travels, not its data. */
export const pushInput = z.strictObject({ remote: remoteName, model: modelName, ref: versionRef, includeDataset: z.boolean().default(true) });
export const pullInput = z.strictObject({ remote: remoteName, model: modelName, ref: versionRef });
export const syncStatusInput = z.strictObject({ limit: z.number().int().min(1).max(200).default(50) });
export const outboxIdInput = z.strictObject({ id: z.uuid() });

/** A version's dataset snapshot data on a shared server: sent with it, or withheld (the manifest only). */
export const DATASET_DATA_STATES = ['included', 'withheld'] as const;
export const datasetDataState = z.enum(DATASET_DATA_STATES);
export type DatasetDataState = z.infer<typeof datasetDataState>;

/** A dataset snapshot's manifest as it travels (in a version bundle's lineage, or alone): everything but its data. */
/** A count the database keeps in a 32-bit column. */
const int32Count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

export const datasetSnapshotManifest = z
  .strictObject({
    id: z.uuid(),
    name: z.string().max(LIMITS.nameLength),
    blobSha256: sha256Schema,
    /** The data blob's size (absent from bundles of older pushers, which never sent the data). */
    blobSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    totalCount: int32Count,
    trainCount: int32Count,
    validationCount: int32Count,
    filter: jsonValue({ maxBytes: JSON_LIMITS.objectBytes }),
    seed: seedSchema.unwrap(),
    validationFraction: z.number().min(0).max(1),
    createdAt: z.string().max(64),
  })
  .refine((manifest) => manifest.trainCount + manifest.validationCount === manifest.totalCount, {
    message: 'trainCount and validationCount must add up to totalCount',
    path: ['totalCount'],
  });
export type DatasetSnapshotManifest = z.infer<typeof datasetSnapshotManifest>;

const bundleArtifact = z.strictObject({
  name: artifactName,
  type: artifactType,
  mediaType: z.string().max(128),
  sha256: sha256Schema,
  size: z.number().int().min(0),
  metadata,
});
/**
 * Artifact records a push stages (`sync.stageArtifacts`) or a pull reads (`sync.versionArtifacts`)
 * per request: ~2.5 MB of JSON for typical records (~250 bytes); a pusher also keeps a staged page
 * within ~4 MB, under the default 10 MiB request body, however long names and metadata are.
 */
export const BUNDLE_ARTIFACT_PAGE = 10_000;
/** Staged pages a push may have: 100 000 records of up to ~40 KB each (the server keeps no more for one key). */
export const MAX_STAGED_PAGES = 1_000;
/** Artifacts a bundle may carry itself: what an older pusher sent whole (its cap was 20 000), larger versions go in pages. */
export const MAX_BUNDLE_ARTIFACTS = 20_000;

/** Everything a shared server needs to recreate a version elsewhere, except the blob bytes. */
export const versionBundle = z.strictObject({
  model: z.strictObject({ name: modelName, description: z.string().max(LIMITS.descriptionLength), tags, metadata }),
  version: z.strictObject({
    version: z.number().int().min(1),
    description: z.string().max(LIMITS.descriptionLength),
    metrics,
    tags,
    validation: jsonValue({ maxBytes: 4 * JSON_LIMITS.objectBytes }).optional(),
  }),
  /** All the version's artifacts, or (when `artifactCount` is larger) none: the pusher staged them in pages, a puller pages through them. */
  artifacts: z.array(bundleArtifact).max(MAX_BUNDLE_ARTIFACTS),
  /** How many artifacts the version holds; absent from bundles of older pushers and servers, which carried them all in `artifacts`. */
  artifactCount: z.number().int().min(0).max(MAX_VERSION_ARTIFACTS).optional(),
  /** The dataset snapshot's manifest (not its data), the training job and the parent version. */
  lineage: z.strictObject({
    datasetSnapshot: datasetSnapshotManifest.nullable(),
    trainingJob: z
      .strictObject({
        id: z.uuid(),
        name: z.string().max(LIMITS.nameLength),
        trainer: jsonValue({ maxBytes: 2 * 1024 * 1024 }),
        hyperparameters: jsonValue({ maxBytes: JSON_LIMITS.objectBytes }),
        /** What ran (a TrainerIdentity, reproduce.schema.ts); absent from bundles of older servers and of jobs that never started. */
        identity: jsonValue({ maxBytes: 256 * 1024 })
          .nullable()
          .optional(),
      })
      .nullable(),
    parentVersion: z.strictObject({ model: modelName, version: z.number().int().min(1) }).nullable(),
  }),
  /** Where the version was made (a shared server's URL, or "local"; the field keeps its wire name) and its number there. */
  origin: z.strictObject({ registry: z.string().max(2_048), model: modelName, version: z.number().int().min(1) }),
  /**
   * Whether the pusher sends the snapshot's data blob with the version (one more blob of the
   * negotiated set; a server that does not take datasets keeps none and records the data as
   * withheld by itself). Absent: an older pusher, which sent only the manifest (withheld).
   */
  datasetData: datasetDataState.optional(),
});
export type VersionBundle = z.infer<typeof versionBundle>;

// Remote-side procedures (called by another Trainyard's sync worker).
export const missingBlobsInput = z.strictObject({ hashes: z.array(sha256Schema).max(10_000) });
export const startUploadInput = z.strictObject({
  sha256: sha256Schema,
  size: z
    .number()
    .int()
    .min(0)
    .max(5 * 1024 ** 4),
});
export const completeUploadInput = z.strictObject({
  sessionId: z.uuid(),
  parts: z.array(z.strictObject({ number: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) })).max(10_000),
});
export const receiveVersionInput = z.strictObject({ idempotencyKey: z.string().min(8).max(200), bundle: versionBundle });
export const describeVersionInput = z.strictObject({
  model: modelName,
  ref: versionRef,
  /** The caller pages through a version's artifacts (`sync.versionArtifacts`): a version of more than 20 000 is described only then. */
  paged: z.boolean().optional(),
});
/** One page of a pushed version's artifact records, kept by the server until `receiveVersion` with the same key (or a day). */
export const stageArtifactsInput = z.strictObject({
  idempotencyKey: z.string().min(8).max(200),
  /** Pages hold at most 10 000 records and ~4 MB of JSON (records with large metadata make more pages). */
  page: z
    .number()
    .int()
    .min(0)
    .max(MAX_STAGED_PAGES - 1),
  artifacts: z.array(bundleArtifact).min(1).max(BUNDLE_ARTIFACT_PAGE),
});
/** A page of a stored version's artifact records, in the bundle's order (a puller's read after `describeVersion`). */
export const versionArtifactsInput = z.strictObject({
  model: modelName,
  version: z.number().int().min(1),
  offset: z.number().int().min(0).max(MAX_VERSION_ARTIFACTS),
  limit: z.number().int().min(1).max(BUNDLE_ARTIFACT_PAGE).default(BUNDLE_ARTIFACT_PAGE),
});

/**
 * `sync.startUpload` / `sync.resumeUpload`: how to send one blob to a shared server in parts, or that
 * it is already there. The server makes it (libs/exchange); a laptop's push follows it (libs/sync).
 */
export const uploadPlanOutput = z.object({
  sha256: z.string(),
  /** The blob is already stored: nothing to send. */
  present: z.boolean(),
  sessionId: z.string().nullable(),
  partSize: z.number(),
  /** Per part: an absolute presigned URL (S3) or null for `PUT /uploads/<session>/<part>` on the server. */
  parts: z.array(z.object({ number: z.number(), url: z.string().nullable() })),
});
export type UploadPlan = z.infer<typeof uploadPlanOutput>;

// Outputs of this machine's side (remotes and the outbox).

export const OUTBOX_STATES = ['pending', 'running', 'done', 'failed', 'cancelled'] as const;
export const SYNC_DIRECTIONS = ['push', 'pull'] as const;

/** One push or pull of the outbox: where it stands and how many bytes are across. */
export const outboxEntryOutput = z.object({
  id: z.string(),
  remote: z.string(),
  direction: z.enum(SYNC_DIRECTIONS),
  model: z.string(),
  /** The version reference as asked ({ version } or { alias }). */
  ref: storedJson<VersionRef>(),
  state: z.enum(OUTBOX_STATES),
  attempts: z.number(),
  nextAttemptAt: z.date(),
  bytesTotal: z.number(),
  bytesDone: z.number(),
  localVersion: z.number().nullable(),
  remoteVersion: z.number().nullable(),
  error: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type OutboxEntryOutput = z.infer<typeof outboxEntryOutput>;
export const outboxEntriesOutput = z.array(outboxEntryOutput);
/** `sync.progress`: live states of outbox entries, each checked as it is sent. */
export const outboxProgressOutput = asyncIterableOf(outboxEntryOutput);

export const remoteOutput = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  createdAt: z.date(),
  /** Local version ↔ remote version, as numbered on each side. */
  links: z.array(z.object({ model: z.string(), localVersion: z.number(), remoteVersion: z.number(), direction: z.string() })),
});
export type RemoteOutput = z.infer<typeof remoteOutput>;
export const remotesOutput = z.array(remoteOutput);
export const removedRemoteOutput = z.object({ removed: z.string() });

// Outputs of the shared server's side.

/**
 * Many small blobs in one request (`POST /blob-batches`, issue #24): the body is one line of
 * JSON (`blobBatchManifest`, at most `manifestBytes`) then each blob's bytes in its order. The
 * shared server verifies each blob's SHA-256 as it arrives and stores it; the limits bound
 * what one request may carry.
 */
export const BLOB_BATCH_LIMITS = { maxBlobs: 1_000, maxBytes: 16 * 1024 * 1024, maxBlobBytes: 1024 * 1024, manifestBytes: 128 * 1024 } as const;
export const blobBatchManifest = z.strictObject({
  blobs: z
    .array(z.strictObject({ sha256: sha256Schema, size: z.number().int().min(0).max(BLOB_BATCH_LIMITS.maxBlobBytes) }))
    .min(1)
    .max(BLOB_BATCH_LIMITS.maxBlobs)
    .refine((blobs) => blobs.reduce((sum, blob) => sum + blob.size, 0) <= BLOB_BATCH_LIMITS.maxBytes, {
      message: `a batch carries at most ${BLOB_BATCH_LIMITS.maxBytes} bytes`,
    }),
});
export type BlobBatchManifest = z.infer<typeof blobBatchManifest>;
export const blobBatchLimits = z.object({ maxBlobs: z.number(), maxBytes: z.number(), maxBlobBytes: z.number(), manifestBytes: z.number() });
export type BlobBatchLimits = z.infer<typeof blobBatchLimits>;
/** `POST /blob-batches/read` (JSON): the blobs answered one after another, in this order, each verified as it is read. */
export const blobBatchReadInput = z.strictObject({ hashes: z.array(sha256Schema).min(1).max(BLOB_BATCH_LIMITS.maxBlobs) });
export type BlobBatchReadInput = z.infer<typeof blobBatchReadInput>;

/** `blobBatches`: the server takes `POST /blob-batches` within these limits (absent: an older server, one `PUT /blobs` per blob). */
/** `acceptsDatasets`: whether the server takes dataset snapshot data (TRAINYARD_SYNC_ACCEPT_DATASETS); absent: an older server, which does not. */
export const missingBlobsOutput = z.object({ missing: z.array(z.string()), blobBatches: blobBatchLimits.optional(), acceptsDatasets: z.boolean().optional() });
export type MissingBlobsOutput = z.infer<typeof missingBlobsOutput>;
export const completedUploadOutput = z.object({ sha256: z.string() });
/** `sync.receiveVersion`: the version the bundle became (or already was: `created` false). */
export const receivedVersionOutput = z.object({ model: z.string(), version: z.number(), created: z.boolean() });
const storedArtifacts = z.array(
  z.object({
    name: z.string(),
    // A type stored before today's list changed still passes: a strict check here would fail the describe, and the pull.
    type: z.string().pipe(storedJson<VersionBundle['artifacts'][number]['type']>()),
    mediaType: z.string(),
    sha256: z.string(),
    size: z.number(),
    metadata: storedJson<VersionBundle['artifacts'][number]['metadata']>(),
  }),
);
/** `sync.versionArtifacts`. */
export const versionArtifactsOutput = z.object({ artifacts: storedArtifacts });
/** `sync.stageArtifacts`: how many records the page held. */
export const stagedArtifactsOutput = z.object({ staged: z.number() });
/**
 * `sync.describeVersion`: a version's bundle as stored, typed as VersionBundle. Plain, not the
 * input's strict schema: stored JSON passes through, and a version stored before a limit was
 * tightened can still be pulled.
 */
export const versionBundleOutput = z.object({
  model: z.object({ name: z.string(), description: z.string(), tags: z.array(z.string()), metadata: storedJson<VersionBundle['model']['metadata']>() }),
  version: z.object({
    version: z.number(),
    description: z.string(),
    metrics: storedJson<VersionBundle['version']['metrics']>(),
    tags: z.array(z.string()),
    validation: storedJson().optional(),
  }),
  /** The first BUNDLE_ARTIFACT_PAGE of them; the rest through `sync.versionArtifacts` when `artifactCount` is larger. */
  artifacts: storedArtifacts,
  /** How many artifacts the version holds (absent on older servers, which listed them all). */
  artifactCount: z.number().optional(),
  lineage: storedJson<VersionBundle['lineage']>(),
  origin: z.object({ registry: z.string(), model: z.string(), version: z.number() }),
  /** The server serves `POST /blob-batches/read` within these limits (absent: an older server, one `GET /blobs` per blob). */
  blobBatches: blobBatchLimits.optional(),
  /** `included`: the server holds the snapshot's data (`lineage.datasetSnapshot`, with its size) and a pull brings it; absent on older servers. */
  datasetData: datasetDataState.optional(),
});

// Dataset snapshots on their own (issue #27): `trainyard push-dataset` / `pull-dataset`.

export const pushDatasetInput = z.strictObject({ remote: remoteName, snapshotId: z.uuid() });
export const pullDatasetInput = z.strictObject({ remote: remoteName, snapshotId: z.uuid() });
export const remoteSnapshotsInput = z.strictObject({ remote: remoteName, ...pageInput });
/** Remote side: registers a snapshot whose data blob was uploaded (verified) first. */
export const receiveSnapshotInput = z.strictObject({
  manifest: datasetSnapshotManifest.required({ blobSize: true }),
  /** Where it was frozen (the pusher's origin name). */
  origin: z.string().min(1).max(2_048),
});
/** `sync.pushDataset`: the snapshot on the remote, and how many bytes went (0 when the data was there already). */
export const pushedDatasetOutput = z.object({
  snapshotId: z.string(),
  blobSha256: z.string(),
  blobSize: z.number(),
  bytesSent: z.number(),
  created: z.boolean(),
});
/** `sync.pullDataset`: the snapshot here now (`created` false: it was here already with the same data). */
export const pulledDatasetOutput = z.object({ snapshotId: z.string(), blobSha256: z.string(), blobSize: z.number(), created: z.boolean() });
/** `sync.receiveSnapshot`: registered now, or there already (same id and data). */
export const receivedSnapshotOutput = z.object({ id: z.string(), created: z.boolean() });
/** `sync.describeSnapshot`: a snapshot this server holds, as a puller needs it. */
export const describedSnapshotOutput = z.object({
  id: z.string(),
  name: z.string(),
  blobSha256: z.string(),
  blobSize: z.number(),
  totalCount: z.number(),
  trainCount: z.number(),
  validationCount: z.number(),
  filter: storedJson(),
  seed: z.number(),
  validationFraction: z.number(),
  createdAt: z.string(),
});
