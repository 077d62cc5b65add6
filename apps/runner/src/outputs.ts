import { lstat, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { jobRelativePath, MAX_OUTPUTS_PER_CALL, type RunnerOutputFile } from '@trainyard/training/runner-kit';
import { sha256OfFile } from './job-directory';
import type { RunnerClient } from './runner-client';

/** Regular files under `dir`, as paths relative to the job directory (POSIX separators, as the protocol names them). */
const filesUnder = async (jobDir: string, dir: string): Promise<string[]> => {
  const entries = await readdir(join(jobDir, dir), { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(jobDir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
};

/** A path the trainer reported, if it names a regular file inside the job directory. */
const reportedFile = async (jobDir: string, path: string): Promise<string | undefined> => {
  const full = resolve(jobDir, path);
  if (!full.startsWith(resolve(jobDir) + sep) || !jobRelativePath.safeParse(path).success) return undefined;
  return (await lstat(full).catch(() => undefined))?.isFile() ? relative(jobDir, full).split(sep).join('/') : undefined;
};

/**
 * Uploads the run's results as blobs (the server verifies each one's SHA-256 as it stores it)
 * and registers them for the job: `output/model/` (after a successful exit only), every file
 * under `checkpoints/` and the other reported checkpoints (always: a retry resumes from them),
 * and files reported with `artifact` events.
 * The server keeps of them what a local run would keep (its checkpoint retention, the reported artifacts).
 */
export const uploadOutputs = async (
  client: RunnerClient,
  jobDir: string,
  reported: { checkpoints: ReadonlySet<string>; artifacts: ReadonlySet<string> },
  succeeded: boolean,
  log: (message: string) => void,
): Promise<number> => {
  const paths = new Set<string>(succeeded ? await filesUnder(jobDir, join('output', 'model')) : []);
  // `checkpoints/` is kept across attempts, reported or not (a trainer that exits at once may not have reported its last one).
  for (const path of await filesUnder(jobDir, 'checkpoints')) paths.add(path);
  for (const path of [...reported.checkpoints, ...(succeeded ? reported.artifacts : [])]) {
    const file = await reportedFile(jobDir, path);
    if (file) paths.add(file);
  }
  const files: RunnerOutputFile[] = [];
  for (const path of paths) {
    if (!jobRelativePath.safeParse(path).success) {
      log(`output ${path} has a name the server does not take; not uploaded`);
      continue;
    }
    const { sha256, size } = await sha256OfFile(join(jobDir, path));
    await client.upload(sha256, join(jobDir, path));
    files.push({ path, sha256, size });
  }
  for (let i = 0; i < files.length; i += MAX_OUTPUTS_PER_CALL) await client.outputs(files.slice(i, i + MAX_OUTPUTS_PER_CALL));
  return files.length;
};
