import type { HealthOutput, TokenScope } from '@trainyard/contracts';
import type { ArtifactService, IndexedBlobStore } from '@trainyard/artifacts';
import type { DatasetSnapshotService, TrainingDataService } from '@trainyard/datasets';
import type { LineageService, ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import type { ExchangeService } from '@trainyard/exchange';
import type { SyncService } from '@trainyard/sync';
import type { SweepService } from '@trainyard/sweeps';
import type { ScoringService } from '@trainyard/trainers';
import type { JobEventBus, ReproductionService, TrainerCatalog, TrainingJobService } from '@trainyard/training';
import { DomainError, type Logger } from '@trainyard/core';

/** Declared in libs/core; re-exported because the API's context carries one. */
export type { Logger };

/** The server itself, for `system.health`: the app builds it around its database. */
export interface SystemService {
  /** Fails when the database does not answer; which database it is when it does. */
  checkDatabase(): Promise<HealthOutput['database']>;
}

/**
 * What every procedure may use: services only, never a database handle (each context's tables
 * are reached through its services). Only apps/* build it, from concrete adapters.
 */
export interface ApiServices {
  version: string;
  system: SystemService;
  /** Also records blobs a read found corrupt (reported by `system.health`, `artifacts.get`). */
  blobs: IndexedBlobStore;
  artifacts: ArtifactService;
  trainingData: TrainingDataService;
  snapshots: DatasetSnapshotService;
  models: ModelRegistryService;
  versions: ModelVersionService;
  lineage: LineageService;
  jobs: TrainingJobService;
  /** Re-running a version's training job and comparing its outputs (jobs.reproduce, jobs.reproduction). */
  reproductions: ReproductionService;
  jobBus: JobEventBus;
  /** Hyperparameter sweeps: their trials are jobs of `jobs`. */
  sweeps: SweepService;
  /** Built-in trainers and their hyperparameter schemas. */
  trainers: TrainerCatalog;
  scoring: ScoringService;
  /** This machine's remotes and outbox. */
  sync: SyncService;
  /** The shared-server side of sync (blob negotiation, uploads, received versions). */
  exchange: ExchangeService;
}

/** Who is calling: `local` with the session token, `token:<name>` with an API token. */
export interface Principal {
  actor: string;
  scope: TokenScope;
  /** The API token's id (shared server): what per-token rate limits are keyed by. */
  tokenId?: string;
  /**
   * Set only for a job-scoped token (libs/auth job-tokens.service.ts): the one job attempt it
   * serves and the blobs it may read. The HTTP host lets such a principal through to the
   * routes that accept job tokens (the runner routes, the blob route) and refuses it everywhere
   * else; `createApiContext` refuses it too, so no tRPC procedure ever runs for it.
   */
  job?: { jobId: string; attempt: number; readableBlobs: readonly string[] };
}

export interface ApiContext {
  services: ApiServices;
  logger: Logger;
  /** Who is calling, recorded on model registry events: `local` for the desktop session. */
  actor: string;
  /** What the caller's token allows; checked per procedure (queries read, mutations write). */
  scope: TokenScope;
}

/**
 * The context of one call: the services, and who is calling. The HTTP host builds it per request
 * from the authenticated principal; tests build it directly and call procedures with
 * `createCallerFactory(appRouter)(createApiContext(...))`, skipping HTTP.
 */
export const createApiContext = (services: ApiServices, principal: Principal, logger: Logger): ApiContext => {
  if (principal.job) throw new DomainError('FORBIDDEN', 'A job token may only be used by its job’s runner');
  return {
    services,
    logger,
    actor: principal.actor,
    scope: principal.scope,
  };
};
