import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError, isUuid } from '@trainyard/core';

/** Materialises a dataset snapshot as the trainer protocol's train/validation channels. */
export interface SnapshotMaterialiser {
  materialise(snapshotId: string, dataDir: string): Promise<{ train: number; validation: number }>;
}

export interface JobSetup {
  id: string;
  name: string;
  attempt: number;
  trainer: unknown;
  hyperparameters: Record<string, unknown>;
  datasetSnapshotId: string | null;
}

/** `<root>/<jobId>/`: the job directory of PROTOCOL.md, kept across attempts (checkpoints live here). */
export const createJobWorkspace = (root: string, snapshots: SnapshotMaterialiser) => {
  const dirOf = (jobId: string): string => {
    if (!isUuid(jobId)) throw new DomainError('INVALID_ARGUMENT', 'Invalid job id', { jobId });
    return join(root, jobId);
  };
  return {
    dirOf,
    async prepare(job: JobSetup): Promise<string> {
      const dir = dirOf(job.id);
      await mkdir(join(dir, 'input', 'config'), { recursive: true });
      await mkdir(join(dir, 'checkpoints'), { recursive: true });
      // The previous attempt's output is not this attempt's output.
      await rm(join(dir, 'output'), { recursive: true, force: true });
      await mkdir(join(dir, 'output', 'model'), { recursive: true });
      await writeFile(join(dir, 'input', 'config', 'hyperparameters.json'), JSON.stringify(job.hyperparameters, null, 2));
      await writeFile(
        join(dir, 'input', 'config', 'job.json'),
        JSON.stringify({ id: job.id, name: job.name, attempt: job.attempt, trainer: job.trainer, datasetSnapshotId: job.datasetSnapshotId }, null, 2),
      );
      if (job.datasetSnapshotId) {
        await rm(join(dir, 'input', 'data'), { recursive: true, force: true });
        await snapshots.materialise(job.datasetSnapshotId, join(dir, 'input', 'data')).catch((error: unknown) => {
          throw new DomainError('FAILED_PRECONDITION', `Dataset snapshot ${job.datasetSnapshotId} could not be read: ${(error as Error).message}`, {
            datasetSnapshotId: job.datasetSnapshotId,
          });
        });
      }
      return dir;
    },
  };
};

export type JobWorkspace = ReturnType<typeof createJobWorkspace>;
