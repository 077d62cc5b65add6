import type { ApiServices } from '@trainyard/api';
import type { Logger } from '@trainyard/core';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type BlobStore, createArtifactService, createFsBlobStore, createFsMultipartTarget, loadS3BlobStore, type MultipartTarget, withBlobIndex } from '@trainyard/artifacts';
import { createDatasetSnapshotService, createTrainingDataService } from '@trainyard/datasets';
import type { Database } from '@trainyard/db';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { createFileRemoteSecrets, createRegistryExchangeService, createSyncService } from '@trainyard/sync';
import { createScoringService, textDetectorTrainer } from '@trainyard/trainers';
import { createTrainerCatalog, createTrainingContext } from '@trainyard/training';
import type { ArtifactStoreConfig, ServerConfig } from './config';
import { seedDemoDataset } from './demo-dataset';
import { createRemoteRegistryFactory } from './sync/remote-registry.client';
import { TRAINYARD_VERSION } from './version';

export const createBlobStore = async (config: ArtifactStoreConfig): Promise<BlobStore> =>
  config.kind === 'filesystem' ? createFsBlobStore(config.root) : (await loadS3BlobStore()).createS3BlobStore(config);

/**
 * Where resumable uploads from other machines land: S3 multipart, or part files next to the
 * blobs. It writes to the store itself, not through the index: the registry records each
 * completed upload in the index once it is verified (IndexedBlobStore.storeExclusively).
 */
const createUploadTarget = async (config: ServerConfig, blobs: BlobStore): Promise<MultipartTarget> => {
  const store = config.artifactStore;
  if (store.kind === 'filesystem') return createFsMultipartTarget(join(config.dataDir, 'uploads'), blobs);
  const s3 = await loadS3BlobStore();
  return s3.createS3MultipartTarget(s3.createS3Client(store), { bucket: store.bucket, prefix: store.prefix, urlExpirySeconds: config.sync.uploadUrlExpirySeconds });
};

/** An upload session untouched this long is abandoned (presigned URLs expire well before). */
const STALE_UPLOAD_MS = 24 * 3_600_000;

export interface Services extends ApiServices {
  /** Work that may run once the server is listening (the demo dataset). */
  startBackgroundWork(): void;
  /** Background work started with the server and stopped with it. */
  stop(): Promise<void>;
}

/** Builds every service from concrete adapters: the only place that knows which ones. */
export const createServices = async (config: ServerConfig, database: Database, logger: Logger, publicUrl: () => string = () => ''): Promise<Services> => {
  const store = await createBlobStore(config.artifactStore);
  const blobs = withBlobIndex(store, database);
  // Leftovers of writes interrupted by a crash: nothing can be writing them at start-up.
  const swept = await blobs.sweepIncomplete(config.artifactStore.kind === 'filesystem' ? 0 : 24 * 3_600_000);
  if (swept > 0) logger.info({ swept }, 'removed incomplete uploads');
  const snapshots = createDatasetSnapshotService(database, blobs);
  const artifacts = createArtifactService({ database, blobs, gcGraceMs: config.gc.graceMs, extraReferences: [snapshots.references] });
  const trainingData = createTrainingDataService(database);

  const timer =
    config.gc.intervalMs > 0
      ? setInterval(() => {
          artifacts.gc({ dryRun: false }).then(
            (report) => report.unreferenced.length > 0 && logger.info({ deleted: report.unreferenced.length, bytes: report.bytes }, 'garbage collected blobs'),
            (err: unknown) => logger.error({ err }, 'scheduled garbage collection failed'),
          );
          exchange.sweepStaleUploads(STALE_UPLOAD_MS).then(
            (swept) => swept > 0 && logger.info({ swept }, 'swept abandoned uploads'),
            (err: unknown) => logger.error({ err }, 'sweeping abandoned uploads failed'),
          );
        }, config.gc.intervalMs)
      : undefined;
  timer?.unref();

  const models = createModelRegistryService(database);
  const versions = createModelVersionService(database);
  const catalog = createTrainerCatalog([textDetectorTrainer], config.trainerRuntime ? { runtime: config.trainerRuntime } : {});
  const { orchestrator, jobs, bus: jobBus } = createTrainingContext({
    database,
    root: config.dataDir,
    snapshots,
    blobs,
    artifacts,
    models,
    versions,
    catalog,
    env: config.trainerEnv,
    trainerEnvNames: config.trainerEnvNames,
    commandTrainers: { shared: config.mode === 'shared', allowedCommands: config.allowedCommands },
    logger,
    concurrency: config.orchestrator.concurrency,
    graceMs: config.orchestrator.graceMs,
  });
  if (config.orchestrator.enabled) await orchestrator.start();
  let demo: Promise<unknown> | undefined;

  const exchange = createRegistryExchangeService({ database, blobs, uploads: await createUploadTarget(config, store), artifacts, models, versions, registryUrl: publicUrl });
  const sync = createSyncService({
    database,
    blobs,
    models,
    versions,
    secrets: createFileRemoteSecrets(join(config.dataDir, 'remotes.json')),
    connect: createRemoteRegistryFactory(),
    origin: `trainyard://${hostname()}/${config.dataDir}`,
    baseBackoffMs: config.sync.retryBaseMs,
    maxBackoffMs: config.sync.retryMaxMs,
    logger,
  });
  // Only a user's own machine pushes and pulls; a shared registry is the other end.
  if (config.mode === 'local') await sync.start();

  return {
    version: TRAINYARD_VERSION,
    database,
    blobs,
    artifacts,
    trainingData,
    snapshots,
    models,
    versions,
    jobs,
    jobBus,
    trainers: catalog,
    scoring: createScoringService({ versions, artifacts, blobs }),
    sync,
    exchange,
    startBackgroundWork() {
      // After the server listens: a fresh data dir must not start slower because of the demo data.
      if (config.demoData) demo = seedDemoDataset({ database, trainingData, snapshots, logger }).catch((err: unknown) => logger.error({ err }, 'demo dataset failed'));
    },
    async stop() {
      clearInterval(timer);
      await demo;
      await sync.stop();
      await orchestrator.stop();
    },
  };
};
