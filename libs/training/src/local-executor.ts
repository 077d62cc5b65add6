import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { TrainerExecutor } from './executor.port';
import { hostProcessControl } from './process-control';
import type { ProcessControl, StopSignal } from './process-control.port';
import { parseEventLine, type TrainerEvent } from './trainer-events';

/** Longest event line read; a longer one is skipped (and counted as malformed). */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;

export interface ExecutionRequest {
  jobDir: string;
  command: readonly string[];
  cwd?: string;
  /** The trainer's whole environment (see trainer-env.ts); TRAINYARD_JOB_DIR and TRAINYARD_RUN_ID are added. */
  env: Record<string, string | undefined>;
  timeoutMs?: number;
  graceMs: number;
  onEvent(event: TrainerEvent): void;
  /** A malformed line (excerpt) and why; called for the first BAD_EVENT_SAMPLE_FIRST only, the rest are counted. */
  onBadEvent(line: string, error: string): void;
  /** The job this run belongs to: a scheduler names its submission after it and asks for its resources. */
  job?: { id: string; attempt: number; resources: JobResources };
  /** Follow the run an earlier holder of the lease started (an executor whose onTakeover is `reattach`). */
  reattach?: boolean;
  /** A scheduler's view of the run: its job id there, its state and, while pending, why. */
  onSchedulerState?(state: SchedulerState): void;
  /**
   * Writes out what `onEvent` recorded so far (the metric points still in memory) and returns a
   * mark of it. An executor that acknowledges events to someone who will not send them again (a
   * runner) calls it first, and keeps the mark with its acknowledgement.
   */
  flushEvents?(): Promise<unknown>;
  /** After a re-attach: removes what was recorded after that mark (events the runner will send again). */
  rewindEvents?(mark: unknown): Promise<void>;
}

export interface JobResources {
  cpus?: number;
  memoryMb?: number;
  gpus?: number;
  partition?: string;
  timeoutSeconds?: number;
  image?: string;
  namespace?: string;
  serviceAccount?: string;
  instanceType?: string;
  instanceCount?: number;
}

export interface SchedulerState {
  kind: string;
  jobId: string;
  state: string;
  reason: string | null;
}

/** Output files a remote run already stored as verified blobs, by job-relative path (a runner's `output/model/…`, checkpoints, reported artifacts). */
export type StoredOutputs = ReadonlyMap<string, { sha256: string; size: number }>;

export type ExecutionOutcome =
  /** `outputs`: the run's files are not in the server's job directory but already in the blob store (a runner's). */
  | { kind: 'exited'; exitCode: number; signal: null; outputs?: StoredOutputs }
  | { kind: 'killed'; exitCode: number | null; signal: string | null; reason: 'cancelled' | 'timeout' | 'signal' }
  | { kind: 'spawn_failed'; message: string }
  /** The scheduler took the run away (preemption, a failed node): it runs again without using up an attempt. */
  | { kind: 'requeue'; reason: 'preempted' | 'node_failure'; message: string }
  /** Stopped following a run that goes on (a server stop with onShutdown `detach`). */
  | { kind: 'detached' };

export interface Execution {
  pid: number | undefined;
  done: Promise<ExecutionOutcome>;
  cancel(): void;
  /** Stop following the run and leave it running (executors whose onShutdown is `detach`). */
  detach?(): void;
  /** Malformed event lines so far: how many, and the last few. */
  badEvents(): BadEventSummary;
  /** Metric points skipped so far because their step or value was NaN, Infinity or null. */
  nonFiniteMetrics(): number;
}

/** How many malformed lines are reported one by one; the rest are only counted. */
export const BAD_EVENT_SAMPLE_FIRST = 20;
/** How many of the last malformed lines are kept for the summary. */
export const BAD_EVENT_SAMPLE_LAST = 5;
/** Longest excerpt of a malformed line (and of its error) that is ever logged. */
export const BAD_EVENT_EXCERPT = 200;
/** The reader parses for at most this long before it lets the event loop run. */
const SLICE_MS = 8;

export interface BadEventSummary {
  /** Malformed (or oversized) lines in all. */
  count: number;
  /** The last few, each { line, error } cut to BAD_EVENT_EXCERPT characters (the first ones went to onBadEvent). */
  last: Array<{ line: string; error: string }>;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Splits fd 3 into lines without ever holding more than one bounded line in memory. The stream
 * is read one chunk at a time (paused meanwhile, so a trainer that writes faster than we parse
 * blocks on its full pipe), and the loop yields to the event loop every few milliseconds, so
 * the server keeps answering whatever a trainer writes.
 */
const readEventLines = async (stream: Readable, onLine: (line: string) => void, onOversized: () => void): Promise<void> => {
  let pending = '';
  let skipping = false;
  let sliceStart = Date.now();
  stream.setEncoding('utf8');
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      let lines = 0;
      for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
        const line = pending + chunk.slice(start, newline);
        pending = '';
        if (skipping) skipping = false;
        else if (line.trim() !== '') onLine(line);
        start = newline + 1;
        if ((lines += 1) % 1_024 === 0 && Date.now() - sliceStart >= SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = Date.now();
        }
      }
      if (!skipping) pending += chunk.slice(start);
      if (pending.length > MAX_EVENT_LINE_BYTES) {
        pending = '';
        skipping = true;
        onOversized();
      }
      if (Date.now() - sliceStart >= SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = Date.now();
      }
    }
  } catch {
    // A broken pipe ends the events; the exit code still decides the outcome.
  }
  if (!skipping && pending.trim() !== '') onLine(pending);
};

/**
 * Where a run's event lines go, whatever carries them (a pipe, a file on a shared filesystem):
 * parsed and delivered; malformed ones counted, the first few reported, the last few kept (cut
 * to an excerpt only when read: a trainer may write millions of them, and this runs for each).
 */
export const createEventIntake = (request: Pick<ExecutionRequest, 'onEvent' | 'onBadEvent'>) => {
  let badCount = 0;
  let nonFiniteCount = 0;
  const lastBad: Array<{ line: string; error: string }> = [];
  const excerpt = (bad: { line: string; error: string }) => ({ line: bad.line.slice(0, BAD_EVENT_EXCERPT), error: bad.error.slice(0, BAD_EVENT_EXCERPT) });
  const badEvent = (line: string, error: string): void => {
    badCount += 1;
    if (badCount <= BAD_EVENT_SAMPLE_FIRST) {
      const first = excerpt({ line, error });
      request.onBadEvent(first.line, first.error);
      return;
    }
    lastBad.push({ line, error });
    if (lastBad.length > BAD_EVENT_SAMPLE_LAST) lastBad.shift();
  };
  return {
    line(line: string): void {
      const parsed = parseEventLine(line);
      if (!parsed.ok) badEvent(line, parsed.error);
      else {
        if (parsed.nonFinite) nonFiniteCount += parsed.nonFinite;
        if (parsed.event) request.onEvent(parsed.event);
      }
    },
    oversized: (): void => badEvent('(line too long)', `event line longer than ${MAX_EVENT_LINE_BYTES} bytes skipped`),
    /** A line found malformed elsewhere (a runner's report of its trainer's fd 3): counted like one read here. */
    bad: badEvent,
    badEvents: (): BadEventSummary => ({ count: badCount, last: lastBad.map(excerpt) }),
    nonFiniteMetrics: (): number => nonFiniteCount,
  };
};

/**
 * Runs a trainer as a child process in its own process group (its own tree, through
 * `processes`: process-control.port.ts). Cancel and timeout send SIGTERM to the whole group and
 * SIGKILL after the grace period; when the trainer exits, anything it left running in its group
 * is killed too — and so is every process whose environment names this run (TRAINYARD_RUN_ID; a
 * grandchild that called setsid left the group, not the environment), so no orphan survives a job.
 */
export const startLocalExecution = (request: ExecutionRequest, processes: ProcessControl = hostProcessControl): Execution => {
  const logs = join(request.jobDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const stdout = openSync(join(logs, 'stdout.log'), 'a');
  const stderr = openSync(join(logs, 'stderr.log'), 'a');
  const [program, ...args] = request.command;
  // Names this run in the environment of everything it starts: how its processes are found.
  const runId = randomUUID();
  const killRun = (signal: StopSignal): void => {
    for (const pid of processes.findByEnvironment('TRAINYARD_RUN_ID', runId)) processes.signal(pid, signal);
  };
  const killGroup = (pid: number | undefined, signal: StopSignal): void => {
    if (pid) processes.signalTree(pid, signal);
  };
  const child = spawn(program ?? '', args, {
    cwd: request.cwd ?? request.jobDir,
    ...processes.spawnOptions,
    stdio: ['ignore', stdout, stderr, 'pipe'],
    env: { ...request.env, TRAINYARD_JOB_DIR: request.jobDir, TRAINYARD_RUN_ID: runId },
  });
  closeSync(stdout);
  closeSync(stderr);
  if (child.pid) processes.track(child.pid, { TRAINYARD_JOB_DIR: request.jobDir, TRAINYARD_RUN_ID: runId });

  let reason: 'cancelled' | 'timeout' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = (why: 'cancelled' | 'timeout'): void => {
    if (reason || child.exitCode !== null) return;
    reason = why;
    killGroup(child.pid, 'SIGTERM');
    killRun('SIGTERM');
    killTimer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      killRun('SIGKILL');
    }, request.graceMs);
  };
  const timeout = request.timeoutMs ? setTimeout(() => terminate('timeout'), request.timeoutMs) : undefined;

  const intake = createEventIntake(request);
  const eventsDone = child.stdio[3] ? readEventLines(child.stdio[3] as Readable, intake.line, intake.oversized) : Promise.resolve();

  const done = new Promise<ExecutionOutcome>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timeout);
      // spawn says ENOENT for a missing working directory too: name the right one.
      const cwd = request.cwd ?? request.jobDir;
      const missing = error.code === 'ENOENT' ? (existsSync(cwd) ? `command not found: ${program}` : `working directory not found: ${cwd}`) : undefined;
      resolve({ kind: 'spawn_failed', message: missing ?? error.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      killGroup(child.pid, 'SIGKILL'); // children the trainer forked and left behind
      killRun('SIGKILL'); // and those that left its group (setsid)
      // Give the event pipe a moment to drain; a grandchild holding it open was just killed.
      const drained = Promise.race([eventsDone, new Promise((r) => setTimeout(r, 2_000))]);
      void drained.then(() => {
        killRun('SIGKILL'); // one that was being forked during the first sweep
        if (reason) resolve({ kind: 'killed', exitCode: code, signal, reason });
        else if (signal) resolve({ kind: 'killed', exitCode: code, signal, reason: 'signal' });
        else resolve({ kind: 'exited', exitCode: code ?? -1, signal: null });
      });
    });
  });

  return {
    pid: child.pid,
    done,
    cancel: () => terminate('cancelled'),
    badEvents: intake.badEvents,
    nonFiniteMetrics: intake.nonFiniteMetrics,
  };
};

/**
 * Kills the trainer an earlier holder of a job left on this machine (its pid is in the job's
 * run.json, and only a process whose environment names that job directory is touched), plus
 * whatever it started outside its process group, and waits until they are gone: a new attempt
 * would share the job directory.
 */
const stopOrphanTrainer = async (jobDir: string, processes: ProcessControl): Promise<void> => {
  const ours = processes.findByEnvironment('TRAINYARD_JOB_DIR', jobDir);
  let killed: number | undefined;
  try {
    const { pid } = JSON.parse(readFileSync(join(jobDir, 'run.json'), 'utf8')) as { pid?: number };
    if (pid && ours.includes(pid)) {
      processes.signalTree(pid, 'SIGKILL');
      killed = pid;
    }
  } catch {
    // No run file: nothing recorded to kill as a tree.
  }
  for (const pid of ours) if (pid !== killed) processes.signal(pid, 'SIGKILL');
  for (const pid of ours) {
    for (let i = 0; i < 100 && processes.isAlive(pid); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/**
 * Trainers as child processes of this server: stopped with it, restarted after a takeover.
 * `processes` defaults to this platform's (process-control.ts).
 */
export const createLocalExecutor = (processes: ProcessControl = hostProcessControl): TrainerExecutor => ({
  kind: 'local',
  onTakeover: 'restart',
  onShutdown: 'stop',
  start: (request) => startLocalExecution(request, processes),
  stopOrphan: (jobDir) => stopOrphanTrainer(jobDir, processes),
});

/** The local executor on this machine's process handling. */
export const localExecutor: TrainerExecutor = createLocalExecutor();
