import type { SlurmJobState } from '../slurm-cli.port';
import { malformed, parseExitCode, parseJobId, parseState, recordField } from './slurm-output';

/**
 * Pure parsers of what Slurm 22.05's tools print, each strict: output that does not have the
 * expected shape throws a DomainError naming the command and an excerpt. `command` is how the
 * error names the call (e.g. `squeue (ssh user@host)`).
 */

/** The lines of `text` without the final newline; a blank line inside is malformed. */
const lines = (command: string, text: string): string[] => {
  if (text === '') return [];
  const all = text.replace(/\r?\n$/, '').split(/\r?\n/);
  const blank = all.findIndex((line) => line.trim() === '');
  if (blank >= 0) throw malformed(command, `blank line ${blank + 1}`, text);
  return all;
};

/** `sbatch --parsable`: `<id>` or, when several clusters exist, `<id>;<cluster>`. */
export const parseSbatchParsable = (command: string, stdout: string): string => {
  const all = lines(command, stdout);
  const [line] = all;
  if (line === undefined) throw malformed(command, 'no job id printed', stdout);
  if (all.length > 1) throw malformed(command, 'more than one line', stdout);
  const match = /^(\d+)(?:;[A-Za-z0-9_.-]+)?$/.exec(line.trim());
  if (!match?.[1]) throw malformed(command, 'not `<id>` or `<id>;<cluster>`', stdout);
  return match[1];
};

/** The format every squeue call uses: id and state first (they never hold `|`), then name, then `%R`. */
export const SQUEUE_FORMAT = '%i|%T|%j|%R';

/**
 * `squeue -h -o '%i|%T|%j|%R'`, one job a line. The name runs to the first `|` after the state
 * (names of ours never hold one); the reason is the rest, `|` included. A pending reason prints
 * in parentheses, `(Resources)`: they are dropped; a running job's `%R` is its node list.
 * Empty output is an empty queue.
 */
export const parseSqueue = (command: string, stdout: string): SlurmJobState[] =>
  lines(command, stdout).map((line) => {
    const fields = line.split('|');
    if (fields.length < 4) throw malformed(command, `expected 4 fields (${SQUEUE_FORMAT}), got ${fields.length}`, line);
    const [id = '', state = '', name = '', ...reasonParts] = fields;
    const rawReason = reasonParts.join('|');
    const reason = /^\(.*\)$/.test(rawReason) ? rawReason.slice(1, -1) : rawReason;
    if (name === '') throw malformed(command, 'empty job name', line);
    return {
      slurmJobId: parseJobId(command, id, line),
      name,
      state: parseState(command, state, line),
      ...(reason === '' ? {} : { reason }),
      source: 'squeue' as const,
    };
  });

/**
 * `scontrol show job -o <id>`: one line of `Key=value` fields for the job. Reads JobId, JobName,
 * JobState, Reason, Restarts and ExitCode (`code:signal`). A job array prints one line per task:
 * the line whose JobId is `slurmJobId` is the answer.
 */
export const parseScontrolJob = (command: string, stdout: string, slurmJobId: string): SlurmJobState => {
  const all = lines(command, stdout);
  if (all.length === 0) throw malformed(command, 'no job record', stdout);
  const line = all.find((candidate) => candidate.startsWith(`JobId=${slurmJobId} `));
  if (line === undefined) throw malformed(command, `no record for job ${slurmJobId}`, stdout);
  const id = recordField(command, line, 'JobId', 0);
  const name = recordField(command, line, 'JobName', id.end, 'UserId');
  const state = recordField(command, line, 'JobState', name.end);
  const reason = recordField(command, line, 'Reason', state.end, 'Dependency');
  const restarts = recordField(command, line, 'Restarts', reason.end);
  const exit = recordField(command, line, 'ExitCode', restarts.end);
  if (!/^\d+$/.test(restarts.value)) throw malformed(command, `Restarts=${restarts.value} is not a count`, line);
  return {
    slurmJobId: parseJobId(command, id.value, line),
    name: name.value,
    state: parseState(command, state.value, line),
    ...(reason.value === 'None' || reason.value === '' ? {} : { reason: reason.value }),
    ...parseExitCode(command, exit.value, line),
    restarts: Number(restarts.value),
    source: 'scontrol',
  };
};

/** What scontrol prints (exit 1) for a job id it does not hold: never submitted, or purged after `MinJobAge`. */
export const isUnknownJobError = (stderr: string): boolean => /Invalid job id specified/i.test(stderr);

/** The fields every sacct call asks for: the name sits between fields that never hold `|`. */
export const SACCT_FIELDS = 'JobIDRaw,JobName,State,ExitCode';

/**
 * `sacct -n -P -X -o JobIDRaw,JobName,State,ExitCode`: one allocation a line, `|`-separated.
 * State may carry a suffix (`CANCELLED by 0`): its first word is the state. Empty output: sacct
 * knows no such job.
 */
export const parseSacct = (command: string, stdout: string): SlurmJobState[] =>
  lines(command, stdout).map((line) => {
    const fields = line.split('|');
    if (fields.length < 4) throw malformed(command, `expected 4 fields (${SACCT_FIELDS}), got ${fields.length}`, line);
    const id = fields[0] ?? '';
    const exit = fields[fields.length - 1] ?? '';
    const stateField = fields[fields.length - 2] ?? '';
    const name = fields.slice(1, -2).join('|');
    const state = /^([A-Z_]+)(?: by \d+)?$/.exec(stateField)?.[1];
    if (state === undefined) throw malformed(command, `not a job state ${JSON.stringify(stateField)}`, line);
    return {
      slurmJobId: parseJobId(command, id, line),
      name,
      state: parseState(command, state, line),
      ...parseExitCode(command, exit, line),
      source: 'sacct' as const,
    };
  });

/** What sacct prints (exit 1) when the cluster keeps no accounting (no slurmdbd): it knows nothing. */
export const isAccountingDisabledError = (stderr: string): boolean => /accounting storage is disabled/i.test(stderr);

/**
 * A `jobcomp/filetxt` log (`JobCompLoc`): one line per job end, and one per requeue (with
 * `JobState=PENDING`), e.g.
 * `JobId=3 UserId=root(0) GroupId=root(0) Name=x JobState=FAILED Partition=debug … DerivedExitCode=0:0 ExitCode=3:0 `.
 * A cancelled job's line says `ExitCode=0:0` where scontrol says `0:15`.
 */
export const parseJobCompLine = (command: string, line: string): SlurmJobState => {
  const id = recordField(command, line, 'JobId', 0);
  recordField(command, line, 'UserId', id.end);
  const name = recordField(command, line, 'Name', id.end, 'JobState');
  const state = recordField(command, line, 'JobState', name.end);
  // DerivedExitCode first: a path (WorkDir) printed before it could hold " ExitCode=".
  const derived = recordField(command, line, 'DerivedExitCode', state.end);
  const exit = recordField(command, line, 'ExitCode', derived.end);
  return {
    slurmJobId: parseJobId(command, id.value, line),
    name: name.value,
    state: parseState(command, state.value, line),
    ...parseExitCode(command, exit.value, line),
    source: 'jobcomp',
  };
};

/** Every line of a jobcomp log (or of a grep of it); the last line for a job id is its latest state. */
export const parseJobCompLog = (command: string, text: string): SlurmJobState[] => lines(command, text).map((line) => parseJobCompLine(command, line));
