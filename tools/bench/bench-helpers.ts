import { execFileSync, spawn } from 'node:child_process';
import { createApiTokenService } from '@trainyard/auth';
import type { TrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import type { BenchRow } from './bench-row';
import { median, timeMs } from './stats';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** A row comparing our median time to a baseline's median measured in the same run. */
export const ratioRow = (benchmark: string, ours: number[], base: number[], baseName: string, limit: number): BenchRow => ({
  benchmark,
  value: seconds(median(ours)),
  baseline: `${seconds(median(base))} (${baseName})`,
  ratio: `${(median(ours) / median(base)).toFixed(2)}×`,
  target: `≤ ${limit}× baseline`,
  pass: median(ours) / median(base) <= limit,
});

export const awsAvailable = (): boolean => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Times a command to completion (it must exit 0). */
export const timeCommand = (command: string, args: string[], env: Record<string, string> = {}): Promise<number> =>
  timeMs(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
      }),
  );

/**
 * Runs a push or pull of `model@1` through the outbox and follows it on the live progress
 * subscription, as `trainyard push/pull` does: milliseconds from the request to `done`. (A poll
 * every 20 ms cost the server under test ~7 ms of its event loop each — about a quarter of its
 * time during a transfer — which the CLI never asks of it.)
 */
export const timedTransfer = async (client: TrainyardClient, direction: 'push' | 'pull', remote: string, model: string): Promise<number> =>
  timeMs(async () => {
    const entry = await client.sync[direction].mutate({ remote, model, ref: { version: 1 } });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const deadline = setTimeout(() => finish(new Error(`${direction} of ${model} did not finish in 15 minutes`)), 15 * 60_000);
      const subscription = client.sync.progress.subscribe(
        { id: entry.id },
        {
          onData(current) {
            if (current.state === 'done') finish();
            else if (current.state === 'failed' || current.state === 'cancelled')
              finish(new Error(`${direction} of ${model} did not finish: ${current.error ?? current.state}`));
          },
          onError: (error) => finish(error instanceof Error ? error : new Error(String(error))),
          onComplete: () => finish(new Error(`${direction} of ${model}: the server ended the progress stream before the transfer was done`)),
        },
      );
      function finish(error?: Error): void {
        // Once: unsubscribing completes the stream at once, which calls onComplete again.
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve();
        subscription.unsubscribe();
      }
    });
  });

/** A write token on a shared server's database, as its admin would create one. */
export const createWriteToken = async (databaseUrl: string, name: string): Promise<string> => {
  const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
  try {
    return (await createApiTokenService(database).create(name, 'write')).token;
  } finally {
    await database.close();
  }
};

/** s3rver in its own process: a benchmark must not share an event loop with its peer server. */
export const startS3Process = async (): Promise<{ endpoint: string; bucket: string; stop(): Promise<void> }> => {
  // s3rver signs list continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider:
  // without it every listing past 1 000 keys (aws s3 sync, rclone) fails with InternalError.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'tools/test-services/s3-server-main.ts', 'bench'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  const info = JSON.parse(line) as { endpoint: string; bucket: string };
  return { ...info, stop: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))).then(() => undefined) };
};
