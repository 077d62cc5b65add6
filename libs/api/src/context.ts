import type { ArtifactService, BlobStore } from '@trainyard/artifacts';
import type { DatasetSnapshotService, TrainingDataService } from '@trainyard/datasets';
import type { Database } from '@trainyard/db';

export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What every procedure may use. Only apps/* build it, from concrete adapters. */
export interface ApiServices {
  version: string;
  database: Database;
  blobs: BlobStore;
  artifacts: ArtifactService;
  trainingData: TrainingDataService;
  snapshots: DatasetSnapshotService;
}

export interface ApiContext {
  services: ApiServices;
  logger: Logger;
}
