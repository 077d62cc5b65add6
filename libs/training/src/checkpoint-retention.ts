import { lstatSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { checkpointPolicy, type CheckpointPolicy } from '@trainyard/contracts';

/** A checkpoint the trainer reported, in report order; `score` is the keepBest metric's value when it was reported. */
export interface CheckpointEntry {
  path: string;
  step?: number;
  score?: number;
}

/** The ledger of kept checkpoints, in the job directory (kept across attempts, like checkpoints/). */
export const CHECKPOINT_LEDGER = 'checkpoints.json';

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
    if (Array.isArray(stored.entries)) entries = stored.entries.filter((e): e is CheckpointEntry => typeof (e as CheckpointEntry | null)?.path === 'string');
  } catch {
    // No ledger yet (first attempt), or an unreadable one: start afresh.
  }
  const save = (): void => {
    writeFileSync(`${ledgerFile}.tmp`, JSON.stringify({ policy, entries }));
    renameSync(`${ledgerFile}.tmp`, ledgerFile);
  };
  const remove = (reported: string): void => {
    const full = resolve(jobDir, reported);
    const inside = relative(resolve(jobDir), full);
    if (!full.startsWith(resolve(jobDir) + sep) || PROTECTED.includes(inside.split(sep)[0] ?? '')) return;
    try {
      if (lstatSync(full).isFile()) unlinkSync(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`old checkpoint ${reported} could not be deleted: ${(error as Error).message}`);
    }
  };
  return {
    /** A checkpoint was reported: keep it, drop (and delete) what the policy no longer keeps. */
    record(entry: CheckpointEntry): void {
      entries = [...entries.filter((e) => e.path !== entry.path), entry];
      const kept = keptCheckpoints(entries, policy);
      const keptPaths = new Set(kept.map((e) => e.path));
      for (const dropped of entries) if (!keptPaths.has(dropped.path)) remove(dropped.path);
      entries = kept;
      save();
    },
    /** The kept checkpoints' paths, oldest first. */
    paths: (): string[] => entries.map((e) => e.path),
  };
};
