import type { ApiServices } from '@trainyard/api';
import { createJobTokenService, type JobTokenService } from '@trainyard/auth';
import { installPath, type Logger } from '@trainyard/core';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  createArtifactService,
  createFsBlobStore,
  createFsMultipartTarget,
  loadS3BlobStore,
  type MultipartTarget,
  withBlobIndex,
} from '@trainyard/artifacts';
import { createDatasetSnapshotService, createTrainingDataService } from '@trainyard/datasets';
import { createScheduledTaskClaims, type Database, type ScheduledTaskClaims } from '@trainyard/db';
import { createLineageService, createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { createExchangeService } from '@trainyard/exchange';
import { createFileRemoteSecrets, createSyncService } from '@trainyard/sync';
import { createSweepService } from '@trainyard/sweeps';
import { createModelFileCheck, createModelLoader, createScoringService, pytorchTextClassifierTrainer, textDetectorTrainer } from '@trainyard/trainers';
import {
  createLocalExecutor,
  createLocalRunnerLauncher,
  createRunnerExecutor,
  createRunnerHub,
  createReproductionService,
  createTrainerCatalog,
  createTrainingContext,
  type Orchestrator,
  type RunnerHub,
  type TrainerExecutor,
} from '@trainyard/training';
import { createConfiguredSageMakerExecutor } from './sagemaker-wiring';
import { createConfiguredSlurmExecutor } from './slurm-wiring';
import { createConfiguredKubernetesExecutor } from './kubernetes-wiring';
import type { ArtifactStoreConfig, ServerConfig } from './config';
import { seedDemoDataset } from './demo-dataset';
import { createRemoteServerFactory } from './sync/remote-server.client';
import { TRAINYARD_VERSION } from './version';

export const createBlobStore = async (config: ArtifactStoreConfig): Promise<BlobStore> =>
  config.kind === 'filesystem' ? createFsBlobStore(config.root) : (await loadS3BlobStore()).createS3BlobStore(config);

/**
 * Where resumable uploads from other machines land: S3 multipart, or part files next to the
 * blobs. It writes to the store itself, not through the index: the server records each
 * completed upload in the index once it is verified (IndexedBlobStore.storeExclusively).
 */
const createUploadTarget = async (config: ServerConfig, blobs: BlobStore): Promise<MultipartTarget> => {
  const store = config.artifactStore;
  if (store.kind === 'filesystem') return createFsMultipartTarget(join(config.dataDir, 'uploads'), blobs);
  const s3 = await loadS3BlobStore();
  return s3.createS3MultipartTarget(s3.createS3Client(store), {
    bucket: store.bucket,
    prefix: store.prefix,
    urlExpirySeconds: config.sync.uploadUrlExpirySeconds,
    readBack: { rangeSize: 8 * 1024 * 1024, concurrency: store.verifyReadConcurrency },
  });
};

/** An upload session untouched this long is abandoned (presigned URLs expire well before). */
const STALE_UPLOAD_MS = 24 * 3_600_000;
/** How often sweeps are advanced: trials started as others end, early stopping's metric read. */
const SWEEP_PASS_MS = 500;

/** Ended job tokens are kept this long (what a runner was allowed, for an investigation), then deleted. */
const JOB_TOKEN_KEEP_MS = 7 * 24 * 3_600_000;

/** The services, plus the parts only background work needs (not reachable from the API). */
export interface Services extends ApiServices {
  /** What the runner routes answer with: the attempts followed here, and the job tokens that authenticate runners. */
  runners: { hub: RunnerHub; tokens: JobTokenService };
  background: {
    orchestrator: Orchestrator;
    /** Removes leftovers of writes a crash interrupted (temp files, stale multipart uploads). */
    sweepIncompleteUploads(): Promise<number>;
    /** Who runs each scheduled task this interval, among every instance on this database. */
    claims: ScheduledTaskClaims;
  };
}

export interface BackgroundWork {
  /** Work that waits until the server is listening (the demo dataset). */
  afterListen(): void;
  /** Stops everything started here. */
  stop(): Promise<void>;
}

/** Builds every service from concrete adapters: the only place that knows which ones. Constructs only: nothing runs until startBackground. */
export const createServices = async (config: ServerConfig, database: Database, logger: Logger, publicUrl: () => string = () => ''): Promise<Services> => {
  const store = await createBlobStore(config.artifactStore);
  const blobs = withBlobIndex(store, database);
  const snapshots = createDatasetSnapshotService(database, blobs, {
    // Jobs and versions that name a snapshot keep it from being deleted (built below: asked only then).
    users: () => [{ usersOf: jobs.usingSnapshot }, { usersOf: versions.usingSnapshot }],
    // Where jobs' materialised copies of snapshots live (training's workspace: the shared directory with Slurm).
    materialisedRoot: join(config.slurm?.sharedDir ?? config.dataDir, 'snapshots'),
  });
  const artifacts = createArtifactService({
    database,
    blobs,
    gcGraceMs: config.gc.graceMs,
    // Runner jobs' uploads and input channels (built below, asked only when GC runs).
    extraReferences: [snapshots.references, { referencedHashes: () => jobs.runnerReferences.referencedHashes() }],
    // Built below, with this service: asked only when an artifact is registered.
    owners: () => ({ jobs, versions }),
  });
  const trainingData = createTrainingDataService(database);

  const models = createModelRegistryService(database);
  // Loaded models for models.score; the same loader checks a version's model files before it is created.
  const modelLoader = createModelLoader({ blobs, onnx: config.scoring.onnx, cacheBytes: config.scoring.cacheBytes });
  const versions = createModelVersionService(database, artifacts, {
    modelFiles: createModelFileCheck({ artifacts, loader: modelLoader }),
    // Jobs that start from a version keep it from being deleted (built below: asked only then).
    // Push receipts and remote links name versions too: they go with a deleted one.
    users: () => [
      { usersOf: jobs.usingVersion },
      { usersOf: async () => [], forget: exchange.forgetVersion },
      { usersOf: async () => [], forget: sync.forgetVersion },
    ],
  });
  const catalog = createTrainerCatalog([textDetectorTrainer, pytorchTextClassifierTrainer], {
    ...(config.trainerRuntime ? { runtime: config.trainerRuntime } : {}),
    python: config.trainerPython,
  });
  // Jobs run here; with TRAINYARD_SLURM=on also on the cluster, their directories on its shared filesystem.
  const slurm = config.slurm ? await createConfiguredSlurmExecutor(config.slurm, config.trainerEnv, logger) : undefined;
  // Runners reach this server over HTTP with job tokens; with TRAINYARD_RUNNER_LOCAL=on, as processes on this machine.
  const jobTokens = createJobTokenService(database);
  const runnerHub = createRunnerHub();
  const runnerLocal = config.runnerLocal
    ? createRunnerExecutor({
        kind: 'runner-local',
        launcher: createLocalRunnerLauncher({ runnerScript: installPath('apps', 'runner', 'dist', 'runner.js') }),
        tokens: jobTokens,
        blobs,
        hub: runnerHub,
        serverUrl: () => config.runnerUrl ?? publicUrl(),
        logger,
      })
    : undefined;
  const runnerExecutorDeps = {
    images: config.runnerImages,
    tokens: jobTokens,
    blobs,
    hub: runnerHub,
    serverUrl: () => config.runnerUrl ?? publicUrl(),
    logger,
  };
  // With TRAINYARD_KUBERNETES=on, runners as Kubernetes Jobs in the allowed images, namespaces and service accounts.
  const kubernetes = config.kubernetes ? await createConfiguredKubernetesExecutor(config.kubernetes, runnerExecutorDeps) : undefined;
  // With TRAINYARD_SAGEMAKER=on, runners as SageMaker training jobs in an image of TRAINYARD_RUNNER_IMAGES.
  const sageMaker = config.sageMaker ? await createConfiguredSageMakerExecutor(config.sageMaker, runnerExecutorDeps) : undefined;
  const runnerExecutors = [runnerLocal, kubernetes, sageMaker].filter((executor): executor is TrainerExecutor => executor !== undefined);
  const {
    orchestrator,
    jobs,
    bus: jobBus,
  } = createTrainingContext({
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
    commandTrainers: {
      shared: config.mode === 'shared',
      allowedCommands: config.allowedCommands,
      containerImages: config.runnerImages,
      ...(config.kubernetes ? { kubernetes: { namespaces: config.kubernetes.namespaces, serviceAccounts: config.kubernetes.serviceAccounts } } : {}),
      ...(config.sageMaker ? { sageMaker: { instanceTypes: config.sageMaker.instanceTypes } } : {}),
    },
    logger,
    concurrency: config.orchestrator.concurrency,
    graceMs: config.orchestrator.graceMs,
    ...(slurm || runnerExecutors.length > 0 ? { executors: [createLocalExecutor(), ...(slurm ? [slurm] : []), ...runnerExecutors] } : {}),
    ...(config.slurm ? { sharedRoot: config.slurm.sharedDir } : {}),
  });

  const exchange = createExchangeService({
    database,
    blobs,
    uploads: await createUploadTarget(config, store),
    artifacts,
    models,
    versions,
    serverUrl: publicUrl,
    // Snapshots pushed with versions (or alone) are the datasets context's.
    snapshots,
    acceptDatasets: config.sync.acceptDatasets,
  });
  const sync = createSyncService({
    database,
    blobs,
    models,
    versions,
    artifacts,
    // What a pushed version's bundle says about how it was made, from the contexts that own it.
    lineage: { snapshots, jobs },
    secrets: createFileRemoteSecrets(join(config.dataDir, 'remotes.json')),
    connect: createRemoteServerFactory(),
    origin: `trainyard://${hostname()}/${config.dataDir}`,
    baseBackoffMs: config.sync.retryBaseMs,
    maxBackoffMs: config.sync.retryMaxMs,
    logger,
  });

  return {
    version: TRAINYARD_VERSION,
    system: {
      async checkDatabase() {
        await database.sql.query('SELECT 1');
        return database.kind;
      },
    },
    blobs,
    artifacts,
    trainingData,
    snapshots,
    models,
    versions,
    lineage: createLineageService({ database, jobs, snapshots, artifacts }),
    jobs,
    reproductions: createReproductionService({ jobs, versions, artifacts, snapshots, catalog }),
    jobBus,
    sweeps: createSweepService({ database, jobs: { ...jobs, watch: (jobId, onEvent) => jobBus.subscribe(jobId, onEvent) }, logger }),
    trainers: catalog,
    scoring: createScoringService({ versions, artifacts, loader: modelLoader }),
    sync,
    exchange,
    runners: { hub: runnerHub, tokens: jobTokens },
    background: {
      orchestrator,
      // Interrupted S3 uploads younger than a day may still be someone's live multipart upload.
      sweepIncompleteUploads: () => blobs.sweepIncomplete(config.artifactStore.kind === 'filesystem' ? 0 : 24 * 3_600_000),
      claims: createScheduledTaskClaims(database.sql, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`),
    },
  };
};

/**
 * Starts what runs beside the API: start-up sweeps, the orchestrator (unless off), the outbox
 * worker (a user's own machine only: a shared server is the other end), the schedule of blob
 * garbage collection and abandoned-upload sweeps (each run claimed in the database, so several
 * instances of a shared server run each task once per interval between them); after
 * listening, the demo dataset.
 */
export const startBackground = async (services: Services, config: ServerConfig, logger: Logger): Promise<BackgroundWork> => {
  // Leftovers of writes interrupted by a crash. A local server holds its data dir's lock, so
  // nothing else writes them; on S3 (several instances possible) only uploads older than a day
  // go, and another instance sweeping the same ones at the same time is harmless.
  const swept = await services.background.sweepIncompleteUploads();
  if (swept > 0) logger.info({ swept }, 'removed incomplete uploads');
  const { claims } = services.background;
  /** Runs `work` if this instance wins this interval's run of `task` (several instances may share the database). */
  const once = (task: string, work: () => Promise<void>): void => {
    claims.claim(task, config.gc.intervalMs).then(
      async (startedAt) => {
        if (!startedAt) return;
        logger.info({ task, holder: claims.holder, startedAt: startedAt.toISOString() }, 'running scheduled task');
        await work();
      },
      (err: unknown) => logger.error({ err, task }, 'claiming a scheduled task failed'),
    );
  };
  const timer =
    config.gc.intervalMs > 0
      ? setInterval(() => {
          once('blob-gc', () =>
            services.artifacts.gc({ dryRun: false }).then(
              (report) =>
                void (report.unreferenced.length > 0 && logger.info({ deleted: report.unreferenced.length, bytes: report.bytes }, 'garbage collected blobs')),
              (err: unknown) => logger.error({ err }, 'scheduled garbage collection failed'),
            ),
          );
          once('job-token-prune', () =>
            services.runners.tokens.pruneEnded(JOB_TOKEN_KEEP_MS).then(
              (count) => void (count > 0 && logger.info({ pruned: count }, 'pruned ended job tokens')),
              (err: unknown) => logger.error({ err }, 'pruning ended job tokens failed'),
            ),
          );
          once('upload-sweep', () =>
            Promise.all([services.exchange.sweepStaleUploads(STALE_UPLOAD_MS), services.exchange.sweepStagedArtifacts(STALE_UPLOAD_MS)]).then(
              ([uploads, pages]) =>
                void (uploads + pages > 0 && logger.info({ swept: uploads, ...(pages > 0 ? { stagedPages: pages } : {}) }, 'swept abandoned uploads')),
              (err: unknown) => logger.error({ err }, 'sweeping abandoned uploads failed'),
            ),
          );
        }, config.gc.intervalMs)
      : undefined;
  timer?.unref();
  if (config.orchestrator.enabled) await services.background.orchestrator.start();
  // Sweeps start their trials where jobs run; a pass reads each running trial's new metric points (early stopping).
  let sweeping: Promise<void> | undefined;
  const sweepTimer = config.orchestrator.enabled
    ? setInterval(() => {
        // A tick while the last one still runs is skipped: slow passes never pile up.
        sweeping ??= services.sweeps
          .advanceAll()
          .catch((err: unknown) => logger.error({ err }, 'advancing sweeps failed'))
          .finally(() => {
            sweeping = undefined;
          });
      }, SWEEP_PASS_MS)
    : undefined;
  sweepTimer?.unref();
  if (config.mode === 'local') await services.sync.start();
  let demo: Promise<unknown> | undefined;
  return {
    afterListen() {
      // After the server listens: a fresh data dir must not start slower because of the demo data.
      if (config.demoData) {
        demo = seedDemoDataset({ trainingData: services.trainingData, snapshots: services.snapshots, logger }).catch((err: unknown) =>
          logger.error({ err }, 'demo dataset failed'),
        );
      }
    },
    async stop() {
      clearInterval(timer);
      clearInterval(sweepTimer);
      await sweeping;
      services.sweeps.stop();
      await demo;
      await services.sync.stop();
      await services.background.orchestrator.stop();
    },
  };
};
