import { DomainError } from '@trainyard/core';
import type { SlurmCli, SlurmCommandRunner, SlurmJobState } from '../slurm-cli.port';
import {
  isAccountingDisabledError,
  isUnknownJobError,
  parseJobCompLog,
  parseSacct,
  parseSbatchParsable,
  parseScontrolJob,
  parseSqueue,
  SACCT_FIELDS,
  SQUEUE_FORMAT,
} from './parsers';
import { ACTIVE_STATES, excerpt } from './slurm-output';

export interface SlurmCliOptions {
  /** `JobCompLoc` of a `jobcomp/filetxt` cluster, readable where the runner runs: the last place a finished job is found. */
  jobCompLog?: string;
  /** How far back `findByName` asks sacct (default 30 days): a job of ours that was never recorded is younger. */
  sacctLookBack?: string;
}

// Job ids, names and signals go into argv (never a shell locally; quoted for the remote shell over
// SSH) and into grep patterns: only the shapes we create are accepted.
const JOB_ID = /^\d+(?:_\d+)?$/;
const NAME = /^[A-Za-z0-9._:-]{1,200}$/;
const SIGNAL = /^(?:SIG)?[A-Z0-9]{1,10}$/;

const check = (what: string, value: string, pattern: RegExp): string => {
  if (!pattern.test(value)) throw new DomainError('INVALID_ARGUMENT', `not a valid Slurm ${what}: ${excerpt(value)}`);
  return value;
};

export const createSlurmCli = (runner: SlurmCommandRunner, options: SlurmCliOptions = {}): SlurmCli => {
  const label = (argv: readonly string[]): string => `${argv[0] ?? ''} (${runner.where})`;

  /** Runs argv; a non-zero exit is an error unless `tolerate` says the stderr means "nothing known". */
  const run = async (argv: readonly string[], runOptions: { cwd?: string; tolerate?: (stderr: string) => boolean } = {}) => {
    const result = await runner.run(argv, runOptions.cwd === undefined ? {} : { cwd: runOptions.cwd });
    if (result.exitCode === 0) return { ...result, tolerated: false };
    if (runOptions.tolerate?.(result.stderr)) return { ...result, tolerated: true };
    throw new DomainError(
      'UNAVAILABLE',
      `${argv.join(' ')} failed (${runner.where}, exit ${result.exitCode}): ${excerpt(result.stderr.trim() || result.stdout.trim())}`,
      {
        command: argv[0],
        where: runner.where,
        exitCode: result.exitCode,
      },
    );
  };

  const scontrol = async (slurmJobId: string): Promise<SlurmJobState | undefined> => {
    const argv = ['scontrol', 'show', 'job', '-o', slurmJobId];
    const result = await run(argv, { tolerate: isUnknownJobError });
    return result.tolerated ? undefined : parseScontrolJob(label(argv), result.stdout, slurmJobId);
  };

  /** undefined when the cluster keeps no accounting (sacct then knows nothing). */
  const sacct = async (selector: readonly string[]): Promise<SlurmJobState[] | undefined> => {
    const argv = ['sacct', '-n', '-P', '-X', '-o', SACCT_FIELDS, ...selector];
    const result = await run(argv, { tolerate: isAccountingDisabledError });
    return result.tolerated ? undefined : parseSacct(label(argv), result.stdout);
  };

  /** Lines of the completion log holding `fixed` (grep -F; exit 1 is "no line"), parsed. */
  const jobComp = async (fixed: string): Promise<SlurmJobState[]> => {
    if (options.jobCompLog === undefined) return [];
    // No line yet: slurmctld creates the file at the first job end.
    const argv = ['grep', '-F', '-e', fixed, '--', options.jobCompLog];
    const result = await run(argv, { tolerate: (stderr) => stderr === '' || /No such file or directory/.test(stderr) });
    return result.tolerated ? [] : parseJobCompLog(label(argv), result.stdout);
  };

  const lastOf = (states: SlurmJobState[]): SlurmJobState | undefined => states[states.length - 1];

  return {
    async submit(scriptPath, cwd) {
      const argv = ['sbatch', '--parsable', scriptPath];
      const result = await run(argv, { cwd });
      return parseSbatchParsable(label(argv), result.stdout);
    },

    async queue(namePrefix) {
      check('job name prefix', namePrefix, NAME);
      const argv = ['squeue', '--me', '-h', '-r', '-o', SQUEUE_FORMAT];
      const result = await run(argv);
      return parseSqueue(label(argv), result.stdout).filter((job) => job.name?.startsWith(namePrefix));
    },

    async finalState(slurmJobId) {
      check('job id', slurmJobId, JOB_ID);
      const fromScontrol = await scontrol(slurmJobId);
      if (fromScontrol) return fromScontrol;
      const fromSacct = await sacct(['-j', slurmJobId]);
      const accounted = lastOf((fromSacct ?? []).filter((job) => job.slurmJobId === slurmJobId));
      if (accounted) return accounted;
      return lastOf((await jobComp(`JobId=${slurmJobId} `)).filter((job) => job.slurmJobId === slurmJobId));
    },

    async findByName(name) {
      check('job name', name, NAME);
      const found = new Map<string, SlurmJobState>();
      // Finished jobs squeue listed but scontrol no longer knew: the controller purged them between
      // the two calls (MinJobAge). sacct or the completion log has their exit code; else this.
      const purged = new Map<string, SlurmJobState>();
      // squeue -t all also lists finished jobs the controller still holds (MinJobAge).
      const argv = ['squeue', '--me', '-h', '-r', '-t', 'all', '--name', name, '-o', SQUEUE_FORMAT];
      for (const job of parseSqueue(label(argv), (await run(argv)).stdout)) {
        if (job.name !== name) continue;
        // A finished job's exit code and restarts are scontrol's.
        const detailed = ACTIVE_STATES.has(job.state) ? job : await scontrol(job.slurmJobId);
        if (detailed) found.set(job.slurmJobId, detailed);
        else purged.set(job.slurmJobId, job);
      }
      const older = [...((await sacct(['--name', name, '-S', options.sacctLookBack ?? 'now-30days'])) ?? []), ...(await jobComp(` Name=${name} JobState=`))];
      for (const job of older) {
        if (job.name !== name) continue;
        const known = found.get(job.slurmJobId);
        // squeue/scontrol, then sacct, then the log; a later log line (after a requeue) replaces an earlier one.
        if (!known || (known.source === 'jobcomp' && job.source === 'jobcomp')) found.set(job.slurmJobId, job);
      }
      for (const [slurmJobId, job] of purged) if (!found.has(slurmJobId)) found.set(slurmJobId, job);
      return [...found.values()];
    },

    async cancel(slurmJobId, cancelOptions = {}) {
      check('job id', slurmJobId, JOB_ID);
      const argv = ['scancel'];
      if (cancelOptions.signal !== undefined) argv.push(`--signal=${check('signal', cancelOptions.signal, SIGNAL)}`);
      if (cancelOptions.batchOnly) argv.push('--batch');
      argv.push(slurmJobId);
      await run(argv);
    },
  };
};
