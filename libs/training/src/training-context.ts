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
  /** The datasets context's snapshots: materialised for jobs, checked when a job is created. */
  snapshots: SnapshotMaterialiser & JobSnapshots;
};

/** The training context assembled once: job workspace, metrics store, event bus, orchestrator, job service. */
export const createTrainingContext = ({ database, root, snapshots, ...rest }: TrainingContextDeps) => {
  const workspace = createJobWorkspace(join(root, 'jobs'), snapshots, join(root, 'snapshots'));
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
  });
  return { workspace, metrics, bus, orchestrator, jobs };
};
