import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseEventLine, type TrainerEvent } from './trainer-events';

const MAX_EVENT_LINE = 1024 * 1024;

export interface ExecutionRequest {
  jobDir: string;
  command: readonly string[];
  cwd?: string;
  /** The environment the trainer inherits; TRAINYARD_JOB_DIR is added. */
  env: Record<string, string | undefined>;
  timeoutMs?: number;
  graceMs: number;
  onEvent(event: TrainerEvent): void;
  onBadEvent(line: string, error: string): void;
}

export type ExecutionOutcome =
  | { kind: 'exited'; exitCode: number; signal: null }
  | { kind: 'killed'; exitCode: number | null; signal: string | null; reason: 'cancelled' | 'timeout' | 'signal' }
  | { kind: 'spawn_failed'; message: string };

export interface Execution {
  pid: number | undefined;
  done: Promise<ExecutionOutcome>;
  cancel(): void;
}

const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
};

/** Splits fd 3 into lines without ever holding more than one bounded line in memory. */
const readEventLines = (stream: Readable, onLine: (line: string) => void, onOversized: () => void): Promise<void> =>
  new Promise((resolve) => {
    let pending = '';
    let skipping = false;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let start = 0;
      for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
        const line = pending + chunk.slice(start, newline);
        pending = '';
        if (skipping) skipping = false;
        else if (line.trim() !== '') onLine(line);
        start = newline + 1;
      }
      if (!skipping) pending += chunk.slice(start);
      if (pending.length > MAX_EVENT_LINE) {
        pending = '';
        skipping = true;
        onOversized();
      }
    });
    stream.on('close', () => {
      if (!skipping && pending.trim() !== '') onLine(pending);
      resolve();
    });
    stream.on('error', () => resolve());
  });

/**
 * Runs a trainer as a child process in its own process group. Cancel and timeout send SIGTERM
 * to the whole group and SIGKILL after the grace period; when the trainer exits, anything it
 * left running in its group is killed too, so no orphan survives a job.
 */
export const startLocalExecution = (request: ExecutionRequest): Execution => {
  const logs = join(request.jobDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const stdout = openSync(join(logs, 'stdout.log'), 'a');
  const stderr = openSync(join(logs, 'stderr.log'), 'a');
  const [program, ...args] = request.command;
  const child = spawn(program ?? '', args, {
    cwd: request.cwd ?? request.jobDir,
    detached: true,
    stdio: ['ignore', stdout, stderr, 'pipe'],
    env: { ...request.env, TRAINYARD_JOB_DIR: request.jobDir },
  });
  closeSync(stdout);
  closeSync(stderr);

  let reason: 'cancelled' | 'timeout' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = (why: 'cancelled' | 'timeout'): void => {
    if (reason || child.exitCode !== null) return;
    reason = why;
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), request.graceMs);
  };
  const timeout = request.timeoutMs ? setTimeout(() => terminate('timeout'), request.timeoutMs) : undefined;

  const eventsDone = child.stdio[3]
    ? readEventLines(
        child.stdio[3] as Readable,
        (line) => {
          const parsed = parseEventLine(line);
          if (parsed.ok) request.onEvent(parsed.event);
          else request.onBadEvent(line.slice(0, 200), parsed.error);
        },
        () => request.onBadEvent('(line too long)', `event line longer than ${MAX_EVENT_LINE} bytes skipped`),
      )
    : Promise.resolve();

  const done = new Promise<ExecutionOutcome>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timeout);
      resolve({ kind: 'spawn_failed', message: error.code === 'ENOENT' ? `command not found: ${program}` : error.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      killGroup(child.pid, 'SIGKILL'); // children the trainer forked and left behind
      // Give the event pipe a moment to drain; a grandchild holding it open was just killed.
      const drained = Promise.race([eventsDone, new Promise((r) => setTimeout(r, 2_000))]);
      void drained.then(() => {
        if (reason) resolve({ kind: 'killed', exitCode: code, signal, reason });
        else if (signal) resolve({ kind: 'killed', exitCode: code, signal, reason: 'signal' });
        else resolve({ kind: 'exited', exitCode: code ?? -1, signal: null });
      });
    });
  });

  return { pid: child.pid, done, cancel: () => terminate('cancelled') };
};
