import type { ArtifactService, IndexedBlobStore, MultipartTarget } from '@trainyard/artifacts';
import type { Database } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import { BLOB_BATCH_LIMITS, type MissingBlobsOutput } from '@trainyard/contracts';
import { createBlobBatches } from './blob-batches';
import { createReceivedSnapshotsApi } from './received-snapshots';
import type { ReceivedSnapshots } from './received-snapshots.port';
import { createReceivedVersions } from './received-versions';
import { createStagedArtifacts } from './staged-artifacts';
import { createUploadSessions } from './upload-sessions';

/**
 * The receiving side of sync, on the shared server: which blobs are missing, resumable
 * uploads of them (verified before they exist under their hash), versions registered from a
 * bundle exactly once per idempotency key, and versions described for pullers.
 */
export const createExchangeService = (deps: {
  database: Database;
  blobs: IndexedBlobStore;
  uploads: MultipartTarget;
  artifacts: ArtifactService;
  models: ModelRegistryService;
  versions: ModelVersionService;
  serverUrl: () => string;
  snapshots: ReceivedSnapshots;
  /** Whether this server takes dataset snapshots' data (TRAINYARD_SYNC_ACCEPT_DATASETS; default on). */
  acceptDatasets: boolean;
}) => {
  const uploads = createUploadSessions(deps);
  const { missing, ...sessions } = uploads;
  const staged = createStagedArtifacts(deps.database);
  return {
    /** One round trip for a page of hashes; the answer also says this server takes blob batches. */
    missingBlobs: async (hashes: readonly string[]): Promise<MissingBlobsOutput> => ({
      missing: await missing(hashes),
      blobBatches: { ...BLOB_BATCH_LIMITS },
      acceptsDatasets: deps.acceptDatasets,
    }),
    ...sessions,
    /** A page of a large version's artifact records, before `receiveVersion` (the push's same idempotency key). */
    stageArtifacts: staged.stage,
    ...createBlobBatches(deps),
    ...createReceivedVersions({ ...deps, staged, missingBlobs: missing, blobBatches: BLOB_BATCH_LIMITS }),
    ...createReceivedSnapshotsApi({ ...deps, missingBlobs: missing }),
  };
};

export type ExchangeService = ReturnType<typeof createExchangeService>;
