import { DomainError } from '@trainyard/core';

/**
 * Every job state Slurm 22.05 names (squeue's own list: `squeue -t bogus` prints it). A state
 * outside it is malformed output, never guessed into one we know.
 */
export const SLURM_JOB_STATES = [
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'COMPLETING',
  'CONFIGURING',
  'RESIZING',
  'RESV_DEL_HOLD',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'REVOKED',
  'SIGNALING',
  'SPECIAL_EXIT',
  'STAGE_OUT',
  'STOPPED',
] as const;

const KNOWN_STATES: ReadonlySet<string> = new Set(SLURM_JOB_STATES);

/** States of a job that is still in the queue (squeue's default listing). */
export const ACTIVE_STATES: ReadonlySet<string> = new Set([
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETING',
  'CONFIGURING',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESV_DEL_HOLD',
  'SIGNALING',
  'STAGE_OUT',
  'STOPPED',
]);

const EXCERPT_CHARS = 200;

/** A short, quoted piece of what a command printed, for an error message. */
export const excerpt = (text: string): string => {
  const cut = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
  return JSON.stringify(cut);
};

/** Output of `command` that does not parse: the command and an excerpt, never a guessed answer. */
export const malformed = (command: string, why: string, text: string): DomainError =>
  new DomainError('INTEGRITY', `unexpected output from ${command}: ${why}: ${excerpt(text)}`, { command, excerpt: excerpt(text) });

export const parseState = (command: string, raw: string, line: string): string => {
  if (!KNOWN_STATES.has(raw)) throw malformed(command, `unknown job state ${JSON.stringify(raw)}`, line);
  return raw;
};

const JOB_ID = /^\d+(?:_\d+)?$/;

export const parseJobId = (command: string, raw: string, line: string): string => {
  if (!JOB_ID.test(raw)) throw malformed(command, `not a job id ${JSON.stringify(raw)}`, line);
  return raw;
};

/** `ExitCode=code:signal` as Slurm prints it. */
export const parseExitCode = (command: string, raw: string, line: string): { exitCode: number; signal: number } => {
  const match = /^(\d{1,3}):(\d{1,3})$/.exec(raw);
  if (!match) throw malformed(command, `not an exit code ${JSON.stringify(raw)}`, line);
  return { exitCode: Number(match[1]), signal: Number(match[2]) };
};

/**
 * One `Key=value` field of a Slurm record line (`scontrol show job -o`, the jobcomp log),
 * searched from `from` on. A value runs to the next space, or, for a value that may hold spaces
 * (a job name, a reason), up to ` <until>=`, the key Slurm prints next. Callers read fields in
 * the order Slurm prints them, each from where the last ended, so a job name holding
 * ` JobState=` cannot pass for the real field. A missing key is malformed output.
 */
export const recordField = (command: string, line: string, key: string, from: number, until?: string): { value: string; end: number } => {
  const marker = `${key}=`;
  let start: number;
  if (from === 0 && line.startsWith(marker)) start = 0;
  else {
    const at = line.indexOf(` ${marker}`, from);
    if (at < 0) throw malformed(command, `no ${key}=`, line);
    start = at + 1;
  }
  const valueStart = start + marker.length;
  let end: number;
  if (until === undefined) {
    const space = line.indexOf(' ', valueStart);
    end = space < 0 ? line.length : space;
  } else {
    end = line.indexOf(` ${until}=`, valueStart);
    if (end < 0) throw malformed(command, `no ${until}= after ${key}=`, line);
  }
  return { value: line.slice(valueStart, end), end };
};
