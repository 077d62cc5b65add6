import { join } from 'node:path';
import type { Database } from '@trainyard/db';
import { createJobEventBus } from './job-event-bus';
import { createJobWorkspace, type SnapshotMaterialiser } from './job-workspace';
import { createMetricsStore } from './metrics-store';
import { createOrchestrator, type OrchestratorDeps } from './orchestrator';
import { createTrainingJobService, type JobSnapshots } from './training-job.service';

export type TrainingContextDeps = Omit<OrchestratorDeps, 'sql' | 'workspace' | 'metrics' | 'bus'> & {
  database: Database;
  /** Job directories live in `<root>/jobs`, metric files in `<root>/metrics`, shared snapshot channels in `<root>/snapshots`. */
  root: string;
  /**
   * Where job directories and snapshot channels live instead, when jobs run on other machines
   * (TRAINYARD_SHARED_DIR, a directory on the cluster's shared filesystem): `<sharedRoot>/jobs`
   * and `<sharedRoot>/snapshots`, hard links within it, never links into `root`.
   */
  sharedRoot?: string;
  /** The datasets context's snapshots: materialised for jobs, checked when a job is created. */
  snapshots: SnapshotMaterialiser & JobSnapshots;
};

/** The training context assembled once: job workspace, metrics store, event bus, orchestrator, job service. */
export const createTrainingContext = ({ database, root, sharedRoot, snapshots, ...rest }: TrainingContextDeps) => {
  const jobsRoot = sharedRoot ?? root;
  const workspace = createJobWorkspace(join(jobsRoot, 'jobs'), snapshots, join(jobsRoot, 'snapshots'));
  const metrics = createMetricsStore(join(root, 'metrics'));
  const bus = createJobEventBus();
  const orchestrator = createOrchestrator({ ...rest, sql: database.sql, workspace, metrics, bus });
  const jobs = createTrainingJobService({
    database,
    snapshots,
    versions: rest.versions,
    artifacts: rest.artifacts,
    catalog: rest.catalog,
    workspace,
    metrics,
    control: () => orchestrator.control,
    ...(rest.commandTrainers ? { commandTrainers: rest.commandTrainers } : {}),
    executors: (rest.executors ?? [{ kind: 'local' }]).map((executor) => executor.kind),
  });
  return { workspace, metrics, bus, orchestrator, jobs };
};
