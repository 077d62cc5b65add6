import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { startServerProcess } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';

const RUNS = 5;

const startAndStop = async (dataDir: string): Promise<number> => {
  const started = performance.now();
  const server = await startServerProcess({ TRAINYARD_DATA_DIR: dataDir });
  const elapsed = performance.now() - started;
  server.child.kill('SIGTERM');
  await server.exited;
  return elapsed;
};

/** Cold start of the real server process (`serve`) until it prints its URL, on a fresh and on an existing data dir. */
export const coldStartBench = async (): Promise<BenchRow[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'trainyard-bench-start-'));
  try {
    const fresh = await repeat(RUNS, () => startAndStop(join(scratch, `fresh-${Math.random()}`)));
    const existingDir = join(scratch, 'existing');
    await startAndStop(existingDir);
    const existing = await repeat(RUNS, () => startAndStop(existingDir));
    // Baseline: what any app embedding PGlite pays to create a fresh database (initdb in WASM).
    const pgliteInit = await repeat(3, () =>
      timeMs(async () => {
        const db = await PGlite.create(join(scratch, `raw-${Math.random()}`));
        await db.close();
      }),
    );
    const baseline = median(pgliteInit);
    const row = (name: string, runs: number[]): BenchRow => ({
      benchmark: name,
      value: `${(median(runs) / 1000).toFixed(2)} s`,
      baseline: `${(baseline / 1000).toFixed(2)} s (bare PGlite.create, fresh dir)`,
      ratio: `${(median(runs) / baseline).toFixed(2)}×`,
      target: '≤ 3 s',
      pass: median(runs) <= 3000,
    });
    return [row('server cold start, fresh data dir (migrations applied)', fresh), row('server cold start, existing data dir', existing)];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
