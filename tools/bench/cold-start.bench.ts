import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { median, repeat } from './stats';

const RUNS = 5;

const startAndStop = async (dataDir: string): Promise<number> => {
  const started = performance.now();
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir });
  const elapsed = performance.now() - started;
  server.child.kill('SIGTERM');
  await server.exited;
  return elapsed;
};

// The baseline: what any Node app embedding PGlite pays to start — a new node process that opens (or, for a
// fresh directory, initdb's) the database, answers one query and says so. Measured from spawn to that line.
const BARE_PGLITE = `import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.argv[1]);
await db.query('SELECT 1');
process.stdout.write('open\\n');
await db.close();`;

const bareOpen = (dir: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', BARE_PGLITE, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let opened: number | undefined;
    child.stdout.on('data', () => (opened ??= performance.now() - started));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 && opened !== undefined ? resolve(opened) : reject(new Error(`bare PGlite exited with ${code}`))));
  });

/**
 * Cold start of the real server process (`serve`) until it prints its URL, on a fresh and on an existing data dir, each
 * against bare PGlite in a new process on a fresh dir and on the server's own existing database, in the same run.
 */
export const coldStartBench = async (): Promise<BenchRow[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-start-'));
  try {
    const fresh = await repeat(RUNS, () => startAndStop(join(scratch, `fresh-${Math.random()}`)));
    const bareFresh = await repeat(3, () => bareOpen(join(scratch, `raw-${Math.random()}`)));
    const existingDir = join(scratch, 'existing');
    await startAndStop(existingDir);
    // Alternating, so both see the same machine: the server on its data dir, bare PGlite on that dir's database.
    const existing: number[] = [];
    const bareExisting: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      existing.push(await startAndStop(existingDir));
      bareExisting.push(await bareOpen(join(existingDir, 'pglite')));
    }
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    return [
      {
        benchmark: `server cold start, fresh data dir (migrations applied; Node ${process.versions.node})`,
        value: seconds(median(fresh)),
        baseline: `${seconds(median(bareFresh))} (bare PGlite in a new process, fresh dir: initdb)`,
        ratio: `${(median(fresh) / median(bareFresh)).toFixed(2)}×`,
        target: '≤ 1.1× bare',
        pass: median(fresh) <= 1.1 * median(bareFresh),
      },
      {
        benchmark: `server cold start, existing data dir (Node ${process.versions.node})`,
        value: seconds(median(existing)),
        baseline: `${seconds(median(bareExisting))} (bare PGlite in a new process, the same database)`,
        ratio: `+${seconds(median(existing) - median(bareExisting))}`,
        target: '≤ bare + 0.5 s',
        pass: median(existing) - median(bareExisting) <= 500,
      },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
