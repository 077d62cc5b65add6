/**
 * What the Slurm executor needs from Slurm's command-line tools, run on this machine or on a
 * login node over SSH (the shared filesystem is assumed either way). Every answer is parsed
 * strictly: output that does not parse is an error naming the command, never a guessed state.
 */

/** A Slurm job of ours as the scheduler reports it. */
export interface SlurmJobState {
  slurmJobId: string;
  /** The job name we gave it (`trainyard-<job id>`), when the source reports names. */
  name?: string;
  /** Slurm's state name: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, TIMEOUT, PREEMPTED, NODE_FAIL, CANCELLED, OUT_OF_MEMORY, REQUEUED, … */
  state: string;
  /** Why it is pending (`%R`: Resources, Priority, BeginTime, …), or the nodes it runs on. */
  reason?: string;
  /** The batch script's exit code and the signal that ended it (`ExitCode=code:signal`), once known. */
  exitCode?: number;
  signal?: number;
  /** How many times Slurm requeued it. */
  restarts?: number;
  /** Where the answer came from: squeue, scontrol, sacct or the completion log. */
  source: 'squeue' | 'scontrol' | 'sacct' | 'jobcomp';
}

export interface SlurmCli {
  /** `sbatch --parsable <script>` run in `cwd`: the new job's id (a `id;cluster` answer gives id). */
  submit(scriptPath: string, cwd: string): Promise<string>;
  /** ONE `squeue` call: every job whose name starts with `namePrefix` that is still in the queue. */
  queue(namePrefix: string): Promise<SlurmJobState[]>;
  /**
   * A job that left squeue: `scontrol show job -o` → `sacct` → the completion log
   * (`JobCompLoc` of `jobcomp/filetxt`), in that order; undefined when none knows it.
   */
  finalState(slurmJobId: string): Promise<SlurmJobState | undefined>;
  /** Jobs of ours, queued or finished and still known, with this exact name: how a resubmission is avoided. */
  findByName(name: string): Promise<SlurmJobState[]>;
  /** `scancel [--signal=…] [--batch] <id>`. */
  cancel(slurmJobId: string, options?: { signal?: string; batchOnly?: boolean }): Promise<void>;
}

/** Runs one Slurm command (argv, no shell) locally or on the login node; how SlurmCli reaches Slurm. */
export interface SlurmCommandRunner {
  run(argv: readonly string[], options?: { cwd?: string; timeoutMs?: number }): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** A short description for error messages: `local` or `ssh user@host`. */
  readonly where: string;
}
