import type { ArtifactService, IndexedBlobStore, MultipartTarget } from '@trainyard/artifacts';
import type { Database } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import { createReceivedVersions } from './received-versions';
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
}) => {
  const uploads = createUploadSessions(deps);
  const { missing, ...sessions } = uploads;
  return {
    /** One round trip for any number of blobs. */
    missingBlobs: async (hashes: readonly string[]): Promise<{ missing: string[] }> => ({ missing: await missing(hashes) }),
    ...sessions,
    ...createReceivedVersions({ ...deps, missingBlobs: missing }),
  };
};

export type ExchangeService = ReturnType<typeof createExchangeService>;
