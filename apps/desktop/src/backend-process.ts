import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pRetry from 'p-retry';

export interface BackendOptions {
  /** The executable: Node, or Electron itself with ELECTRON_RUN_AS_NODE=1. */
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}

export interface Backend {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const LISTENING = /Trainyard listening on (http:\/\/127\.0\.0\.1:(\d+))/;

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. Resolves once it has exited. */
export const stopChild = async (child: ChildProcess, graceMs: number): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
};

/**
 * Starts the Trainyard server as a child process on a random loopback port with a fresh
 * session token, and resolves once it answers an authenticated health check.
 */
export const startBackend = async (options: BackendOptions): Promise<Backend> => {
  const token = randomBytes(32).toString('base64url');
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: { ...options.env, PORT: '0', HOST: '127.0.0.1', TRAINYARD_TOKEN: token, TRAINYARD_DATA_DIR: options.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = () => stopChild(child, options.stopGraceMs ?? 10_000);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The server did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`)), options.startTimeoutMs ?? 60_000);
      const check = () => {
        const match = LISTENING.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`The server exited (${code ?? signal}) before it was ready:\n${output}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
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
