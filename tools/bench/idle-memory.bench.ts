import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { type TreeMemory, treeMemory } from './process-memory';
import { median } from './stats';

const RUNS = 3;
/** How long the server is left alone after it prints its URL: start-up work (seeding, first GC) is over. */
const SERVER_SETTLE_MS = 5_000;
/** Bare PGlite does nothing after opening; a short wait lets its start-up garbage be collected. */
const BARE_SETTLE_MS = 2_000;
const OVER_BARE_LIMIT_MB = 60;
const ABSOLUTE_LIMIT_MB = 200;

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Any app embedding PGlite: a plain Node process that opens the data dir with PGlite's defaults. */
const bareScript = `
import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.argv[1]);
await db.query('select 1');
console.log('open');
process.stdin.on('end', () => db.close()).resume();
`;

const bareMemory = async (pgliteDir: string): Promise<TreeMemory> => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', bareScript, pgliteDir], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`bare PGlite exited with ${String(code)}`)));
    });
    await sleep(BARE_SETTLE_MS);
    return treeMemory(child.pid ?? 0);
  } finally {
    child.stdin.end(); // closes the database cleanly, so the next run opens it without recovery
    await exited;
  }
};

const serverMemory = async (dataDir: string): Promise<TreeMemory> => {
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir });
  try {
    await sleep(SERVER_SETTLE_MS);
    return treeMemory(server.child.pid ?? 0);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
};

const mb = (value: number): string => `${Math.round(value)} MB`;

/**
 * Idle resident memory of the whole local server process tree (as `npm start` runs it), against
 * bare PGlite opening the same existing data dir, alternating runs in the same process run.
 */
export const idleMemoryBench = async (): Promise<BenchRow[]> => {
  if (process.platform !== 'linux') throw new Error('the idle-memory benchmark reads /proc (Linux only)');
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-idle-'));
  try {
    const dataDir = join(scratch, 'data');
    await serverMemory(dataDir); // creates, migrates and seeds the data dir: from now on it exists
    const bare: TreeMemory[] = [];
    const server: TreeMemory[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      bare.push(await bareMemory(join(dataDir, 'pglite')));
      server.push(await serverMemory(dataDir));
    }
    const row = (measure: keyof TreeMemory, label: string): BenchRow => {
      const ours = median(server.map((m) => m[measure]));
      const base = median(bare.map((m) => m[measure]));
      return {
        benchmark: `idle memory of the server process tree, ${label} (existing data dir)`,
        value: mb(ours),
        baseline: `${mb(base)} (bare PGlite.create, same data dir)`,
        ratio: `${ours >= base ? '+' : '−'}${mb(Math.abs(ours - base))}`,
        target: `≤ bare + ${OVER_BARE_LIMIT_MB} MB`,
        pass: ours - base <= OVER_BARE_LIMIT_MB,
      };
    };
    const rss = median(server.map((m) => m.rssMb));
    return [
      row('rssMb', 'RSS'),
      row('pssMb', 'PSS'),
      {
        benchmark: 'idle memory of the server process tree, RSS absolute (existing data dir)',
        value: mb(rss),
        target: `≤ ${ABSOLUTE_LIMIT_MB} MB`,
        pass: rss <= ABSOLUTE_LIMIT_MB,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
