import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port';

export interface PostgresServer {
  url: string;
  /** A fresh, empty database on this server. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const which = (command: string): string | undefined => {
  try {
    return execFileSync('which', [command], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
};

/**
 * Why PostgreSQL tests cannot run here, or undefined when they can. With REQUIRE_POSTGRES=1
 * (CI) a missing server is a failure, not a skip.
 */
export const postgresUnavailableReason = (): string | undefined => {
  const missing = ['initdb', 'postgres'].filter((command) => !which(command));
  if (missing.length === 0) return undefined;
  const reason = `PostgreSQL server binaries not on PATH: ${missing.join(', ')}`;
  if (process.env['REQUIRE_POSTGRES'] === '1') throw new Error(`${reason} (REQUIRE_POSTGRES=1)`);
  return reason;
};

// PostgreSQL refuses to run as root; when we are root, run it as the postgres user.
const runAs = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
};

const waitUntilReady = async (url: string, child: ChildProcess, log: () => string): Promise<void> => {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited early:\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`postgres did not become ready:\n${log()}`);
};

/** A throwaway PostgreSQL server in a temp directory on a free loopback port; stop() deletes it. */
export const startPostgresServer = async (): Promise<PostgresServer> => {
  const user = runAs();
  const root = mkdtempSync(join(tmpdir(), 'trainyard-pg-'));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = join(root, 'data');
  execFileSync('initdb', ['-D', dataDir, '-U', 'trainyard', '--auth=trust', '--no-sync', '-E', 'UTF8'], {
    stdio: 'pipe',
    ...(user ?? {}),
  });
  const port = await freePort();
  let output = '';
  const child = spawn(
    'postgres',
    ['-D', dataDir, '-p', String(port), '-k', root, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `postgresql://trainyard@127.0.0.1:${port}/postgres`;
  await waitUntilReady(url, child, () => output);
  return {
    url,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name.replace(/[^a-z0-9_]/g, '_')}"`);
      await admin.end();
      return `postgresql://trainyard@127.0.0.1:${port}/${name.replace(/[^a-z0-9_]/g, '_')}`;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT'); // fast shutdown
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
};
