import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlobStore, createArtifactService, createFsBlobStore } from '@trainyard/artifacts';
import { createDatasetSnapshotService, createTrainingDataService } from '@trainyard/datasets';
import { createTestDatabase, type Database } from '@trainyard/db';
import { createModelRegistryService, createModelVersionService } from '@trainyard/registry';
import { vi } from 'vitest';
import type { CommandTrainerPolicy } from '../command-trainer-policy';
import type { TrainerExecutor } from '../executor.port';
import { createTrainerCatalog } from '../trainer-catalog';
import { createTrainingContext } from '../training-context';
import type { JobRow } from '../training-job.service';

/**
 * Every real component the orchestrator works with (in-memory PGlite, a temp directory for
 * blobs, jobs and metrics), wired the way the server wires them, with short timings.
 */
export const createOrchestratorHarness = async (
  options: {
    leaseMs?: number;
    heartbeatMs?: number;
    graceMs?: number;
    catalog?: ReturnType<typeof createTrainerCatalog>;
    /** The "server's" environment trainers are started from (default: PATH only). */
    env?: Record<string, string | undefined>;
    trainerEnvNames?: string[];
    commandTrainers?: CommandTrainerPolicy;
    /** Another orchestrator on this database (its owner closes it) and, for the same machine and data dir, this root (not deleted). */
    database?: Database;
    root?: string;
    sweepMs?: number;
    /** The executors jobs run on (default: the local executor). */
    executors?: readonly TrainerExecutor[];
    /** Wraps the blob store the completion writes through (to hold a completion mid-way). */
    wrapBlobs?: (blobs: BlobStore) => BlobStore;
  } = {},
) => {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'trainyard-orch-'));
  const database: Database = options.database ?? (await createTestDatabase());
  const fsBlobs = await createFsBlobStore(join(root, 'blobs'));
  const blobs = options.wrapBlobs ? options.wrapBlobs(fsBlobs) : fsBlobs;
  const snapshots = createDatasetSnapshotService(database, blobs);
  const artifacts = createArtifactService({
    database,
    blobs,
    gcGraceMs: 3_600_000,
    extraReferences: [snapshots.references],
    owners: () => ({ jobs, versions }),
  });
  const models = createModelRegistryService(database);
  const versions = createModelVersionService(database, artifacts);
  const catalog = options.catalog ?? createTrainerCatalog();
  const errors: unknown[] = [];
  const { workspace, metrics, bus, orchestrator, jobs } = createTrainingContext({
    database,
    root,
    snapshots,
    blobs,
    artifacts,
    models,
    versions,
    catalog,
    env: options.env ?? { PATH: process.env['PATH'] },
    ...(options.trainerEnvNames ? { trainerEnvNames: options.trainerEnvNames } : {}),
    ...(options.commandTrainers ? { commandTrainers: options.commandTrainers } : {}),
    ...(options.executors ? { executors: options.executors } : {}),
    logger: { info: () => undefined, error: (fields) => errors.push(fields) },
    concurrency: 2,
    leaseMs: options.leaseMs ?? 5_000,
    ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
    heartbeatMs: options.heartbeatMs ?? 200,
    pollMs: 100,
    graceMs: options.graceMs ?? 500,
  });
  const trainingData = createTrainingDataService(database);

  const waitFor = (id: string, statuses: readonly string[], timeoutMs = 30_000): Promise<JobRow> =>
    vi.waitFor(
      async () => {
        const job = await jobs.get(id);
        if (!statuses.includes(job.status)) throw new Error(`job ${id} still ${job.status} (${job.error ?? ''})`);
        return job;
      },
      { timeout: timeoutMs, interval: 50 },
    );

  return {
    root,
    database,
    blobs,
    snapshots,
    artifacts,
    models,
    versions,
    workspace,
    metrics,
    bus,
    orchestrator,
    jobs,
    trainingData,
    errors,
    waitFor,
    async close() {
      await orchestrator.stop();
      if (!options.database) await database.close();
      if (!options.root) rmSync(root, { recursive: true, force: true });
    },
  };
};
