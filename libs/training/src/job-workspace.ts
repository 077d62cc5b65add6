import { randomUUID } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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

const CHANNELS = ['train', 'validation'] as const;
type Manifest = Record<(typeof CHANNELS)[number], { lines: number; bytes: number }>;

/**
 * A snapshot's channels, materialised once per snapshot under `<snapshotsRoot>/<snapshotId>/`
 * (read-only files and a manifest of their sizes), written to a temp dir and renamed into place,
 * so a half-written copy is never used. Reused while its files still have their sizes;
 * materialised again otherwise.
 */
const snapshotCache = (snapshotsRoot: string, snapshots: SnapshotMaterialiser) => {
  const intact = async (dir: string): Promise<boolean> => {
    try {
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      for (const channel of CHANNELS) if ((await stat(join(dir, channel, 'data.jsonl'))).size !== manifest[channel].bytes) return false;
      return true;
    } catch {
      return false;
    }
  };
  const build = async (snapshotId: string): Promise<string> => {
    const dir = join(snapshotsRoot, snapshotId);
    if (await intact(dir)) return dir;
    const tmp = join(snapshotsRoot, `.tmp-${randomUUID()}`);
    try {
      const counts = await snapshots.materialise(snapshotId, tmp);
      const manifest = {} as Manifest;
      for (const channel of CHANNELS) {
        const file = join(tmp, channel, 'data.jsonl');
        manifest[channel] = { lines: counts[channel], bytes: (await stat(file)).size };
        await chmod(file, 0o444);
      }
      await writeFile(join(tmp, 'manifest.json'), JSON.stringify({ snapshotId, ...manifest }));
      if (await intact(dir)) return dir; // another server on this data dir was quicker
      await rm(dir, { recursive: true, force: true }); // a damaged copy
      await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another job materialised it at the same moment: use theirs.
        if ((error.code === 'ENOTEMPTY' || error.code === 'EEXIST') && (await intact(dir))) return;
        throw error;
      });
      return dir;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  };
  // Jobs of this server starting on the same snapshot at once wait for one materialisation.
  const building = new Map<string, Promise<string>>();
  return (snapshotId: string): Promise<string> => {
    if (!isUuid(snapshotId)) return Promise.reject(new DomainError('INVALID_ARGUMENT', 'Invalid dataset snapshot id', { snapshotId }));
    const pending = building.get(snapshotId) ?? build(snapshotId).finally(() => building.delete(snapshotId));
    building.set(snapshotId, pending);
    return pending;
  };
};

/** The job's channel file as a hard link to the shared copy (same inode, no bytes copied); a copy where linking is impossible. */
const linkOrCopy = async (from: string, to: string): Promise<void> => {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to); // another filesystem (EXDEV), or links not allowed
    await chmod(to, 0o444);
  }
};

/**
 * `<root>/<jobId>/`: the job directory of PROTOCOL.md, kept across attempts (checkpoints live here).
 * With `snapshotsRoot`, a snapshot's channels are materialised once there and hard-linked into
 * each job directory; without it, written into the job directory for each attempt.
 */
export const createJobWorkspace = (root: string, snapshots: SnapshotMaterialiser, snapshotsRoot?: string) => {
  const shared = snapshotsRoot ? snapshotCache(snapshotsRoot, snapshots) : undefined;
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
        const data = join(dir, 'input', 'data');
        const materialise = async (snapshotId: string): Promise<unknown> => {
          if (!shared) return snapshots.materialise(snapshotId, data);
          const source = await shared(snapshotId);
          for (const channel of CHANNELS) {
            await mkdir(join(data, channel), { recursive: true });
            await linkOrCopy(join(source, channel, 'data.jsonl'), join(data, channel, 'data.jsonl'));
          }
          return undefined;
        };
        await materialise(job.datasetSnapshotId).catch((error: unknown) => {
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
