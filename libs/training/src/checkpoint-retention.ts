import { lstatSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { checkpointPolicy, type CheckpointPolicy } from '@trainyard/contracts';

/**
 * One checkpoint, in report order: the files reported under one `checkpoints/<name>/` directory
 * (a trainer SDK checkpoint is a directory of several files, each reported on its own), or a
 * single reported file anywhere else. `score` is the keepBest metric's value when it was reported.
 */
export interface CheckpointEntry {
  /** `checkpoints/<name>` for a checkpoint directory, else the file's own path. */
  key: string;
  paths: string[];
  step?: number;
  score?: number;
}

/** The checkpoint a reported file belongs to (see CheckpointEntry.key). */
export const checkpointKeyOf = (path: string): string => {
  const parts = path.split('/');
  return parts[0] === 'checkpoints' && parts.length > 2 ? `checkpoints/${parts[1]}` : path;
};

/** The ledger of kept checkpoints, in the job directory (kept across attempts, like checkpoints/). */
export const CHECKPOINT_LEDGER = 'checkpoints.json';

/** A stored ledger entry; ledgers written before checkpoints were grouped hold one `path` each. */
const fromStored = (stored: unknown): CheckpointEntry[] => {
  const e = stored as { key?: unknown; paths?: unknown; path?: unknown; step?: unknown; score?: unknown } | null;
  const paths = Array.isArray(e?.paths) ? e.paths.filter((p): p is string => typeof p === 'string') : typeof e?.path === 'string' ? [e.path] : [];
  if (paths.length === 0 || !paths[0]) return [];
  return [
    {
      key: typeof e?.key === 'string' ? e.key : checkpointKeyOf(paths[0]),
      paths,
      ...(typeof e?.step === 'number' ? { step: e.step } : {}),
      ...(typeof e?.score === 'number' ? { score: e.score } : {}),
    },
  ];
};

/** Parts of the job directory a checkpoint report never makes Trainyard delete. */
const PROTECTED = ['input', 'output', 'logs'];

/** The stored policy of a job (`{}` on jobs created before policies: the defaults). */
export const checkpointPolicyOf = (stored: unknown): CheckpointPolicy => {
  const parsed = checkpointPolicy.safeParse(stored ?? {});
  return parsed.success ? parsed.data : checkpointPolicy.parse({});
};

/** Which entries the policy keeps: the last `keepLast`, and the best by `keepBest` (the earliest of equals). */
export const keptCheckpoints = (entries: readonly CheckpointEntry[], policy: CheckpointPolicy): CheckpointEntry[] => {
  const kept = new Set(entries.slice(-policy.keepLast));
  if (policy.keepBest) {
    const better = policy.keepBest.mode === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
    let best: CheckpointEntry | undefined;
    for (const entry of entries) if (entry.score !== undefined && (best?.score === undefined || better(entry.score, best.score))) best = entry;
    if (best) kept.add(best);
  }
  return entries.filter((entry) => kept.has(entry));
};

/**
 * Applies a job's checkpoint policy as checkpoints are reported: the ledger (one entry per path,
 * the latest report of a path counting) keeps what the policy keeps, and the files of the
 * checkpoints it drops are deleted from the job directory at once — so a long run holds
 * keepLast (+1 best) checkpoints on disk, not one per epoch. Only regular files inside the job
 * directory, outside input/, output/ and logs/, are ever deleted.
 */
export const createCheckpointLedger = (jobDir: string, policy: CheckpointPolicy, warn: (message: string) => void) => {
  const ledgerFile = join(jobDir, CHECKPOINT_LEDGER);
  let entries: CheckpointEntry[] = [];
  try {
    const stored = JSON.parse(readFileSync(ledgerFile, 'utf8')) as { entries?: unknown };
    if (Array.isArray(stored.entries)) entries = stored.entries.flatMap(fromStored);
  } catch {
    // No ledger yet (first attempt), or an unreadable one: start afresh.
  }
  const save = (): void => {
    writeFileSync(`${ledgerFile}.tmp`, JSON.stringify({ policy, entries }));
    renameSync(`${ledgerFile}.tmp`, ledgerFile);
  };
  const removeFile = (reported: string): void => {
    const full = resolve(jobDir, reported);
    const inside = relative(resolve(jobDir), full);
    if (!full.startsWith(resolve(jobDir) + sep) || PROTECTED.includes(inside.split(sep)[0] ?? '')) return;
    try {
      if (lstatSync(full).isFile()) unlinkSync(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`old checkpoint ${reported} could not be deleted: ${(error as Error).message}`);
    }
  };
  /** Its files, then its directory once empty: a trainer that resumes from the newest directory must never find a gutted one. */
  const remove = (entry: CheckpointEntry): void => {
    for (const path of entry.paths) removeFile(path);
    if (entry.key !== entry.paths[0]) {
      try {
        rmdirSync(resolve(jobDir, entry.key));
      } catch {
        // Not empty (files the trainer never reported stay), or already gone.
      }
    }
  };
  return {
    /** A checkpoint was reported: keep it, drop (and delete) what the policy no longer keeps. */
    record(report: { path: string; step?: number; score?: number }): void {
      const key = checkpointKeyOf(report.path);
      const earlier = entries.find((e) => e.key === key);
      // Another file of the same checkpoint joins it; a checkpoint reported again becomes the newest.
      const entry: CheckpointEntry = {
        key,
        paths: [...new Set([...(earlier?.paths ?? []), report.path])],
        ...((report.step ?? earlier?.step) !== undefined ? { step: report.step ?? earlier?.step } : {}),
        ...((earlier?.score ?? report.score) !== undefined ? { score: earlier?.score ?? report.score } : {}),
      };
      entries = [...entries.filter((e) => e.key !== key), entry];
      const kept = new Set(keptCheckpoints(entries, policy));
      for (const dropped of entries) if (!kept.has(dropped)) remove(dropped);
      entries = entries.filter((e) => kept.has(e));
      save();
    },
    /** The kept checkpoints' files, oldest checkpoint first. */
    paths: (): string[] => entries.flatMap((e) => e.paths),
  };
};
