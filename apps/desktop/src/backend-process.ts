import { randomBytes } from 'node:crypto';
import pRetry from 'p-retry';

/**
 * What the lifecycle needs of the server's process: a Node ChildProcess (the process test) or
 * Electron's UtilityProcess through an adapter (main.ts). Only `exited` and `kill` are used to stop it.
 */
export interface BackendChild {
  readonly pid: number | undefined;
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code, or the signal's name, once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Rejects if the process could not be started at all. */
  readonly failed?: Promise<never>;
}

export interface BackendOptions {
  /** Starts the server's process with this environment (the caller's plus the port, host, token and data dir). */
  start(env: Record<string, string>): BackendChild;
  env: Record<string, string>;
  dataDir: string;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}

export interface Backend {
  url: string;
  port: number;
  token: string;
  child: BackendChild;
  output(): string;
  stop(): Promise<void>;
}

const LISTENING = /Trainyard listening on (http:\/\/127\.0\.0\.1:(\d+))/;

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. Resolves once it has exited. */
export const stopChild = async (child: Pick<BackendChild, 'kill' | 'exited'>, graceMs: number): Promise<void> => {
  let done = false;
  void child.exited.then(() => (done = true));
  await Promise.resolve();
  if (done) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
};

/**
 * Starts the Trainyard server on a random loopback port with a fresh session token, and
 * resolves once it answers an authenticated health check.
 */
export const startBackend = async (options: BackendOptions): Promise<Backend> => {
  const token = randomBytes(32).toString('base64url');
  const child = options.start({ ...options.env, PORT: '0', HOST: '127.0.0.1', TRAINYARD_TOKEN: token, TRAINYARD_DATA_DIR: options.dataDir });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = () => stopChild(child, options.stopGraceMs ?? 10_000);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timeoutMs = options.startTimeoutMs ?? 60_000;
      const timer = setTimeout(() => reject(new Error(`The server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const check = () => {
        const match = LISTENING.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', check);
      void child.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`The server exited (${code}) before it was ready:\n${output}`));
      });
      child.failed?.catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
    // Listening is not ready: the health check goes through the database.
    await pRetry(
      async () => {
        const response = await fetch(`${url}/trpc/system.health`, { headers: { authorization: `Bearer ${token}` } });
        if (!response.ok) throw new Error(`health check answered ${response.status}`);
      },
      { retries: 20, minTimeout: 100, maxTimeout: 1_000 },
    );
    return { url, port: Number(new URL(url).port), token, child, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};

/** A Node ChildProcess as a BackendChild. */
export const nodeChild = (child: import('node:child_process').ChildProcess): BackendChild => {
  const failed = new Promise<never>((_resolve, reject) => child.once('error', reject));
  failed.catch(() => undefined); // observed by startBackend; an error after start-up also ends in 'exit'
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout,
    stderr: child.stderr,
    kill: (signal) => void child.kill(signal),
    exited:
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode ?? child.signalCode ?? -1)
        : new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1))),
    failed,
  };
};
