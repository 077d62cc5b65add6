import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCheckpointLedger, keptCheckpoints } from './checkpoint-retention';

const root = mkdtempSync(join(tmpdir(), 'trainyard-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoint retention', () => {
  it('keeps the last N plus the best (earliest of equals), by min or max', () => {
    const entries = [0.5, 0.1, 0.1, 0.9, 0.4].map((score, i) => ({ key: `c${i}`, paths: [`c${i}`], score }));
    expect(keptCheckpoints(entries, { keepLast: 2, keepBest: { metric: 'm', mode: 'min' } }).map((e) => e.key)).toEqual(['c1', 'c3', 'c4']);
    expect(keptCheckpoints(entries, { keepLast: 2, keepBest: { metric: 'm', mode: 'max' } }).map((e) => e.key)).toEqual(['c3', 'c4']);
    expect(keptCheckpoints(entries, { keepLast: 1 }).map((e) => e.key)).toEqual(['c4']);
  });

  it('deletes dropped checkpoint files, continues its ledger in the next attempt, and never deletes input/, output/ or logs/ files', () => {
    const dir = join(root, 'job');
    for (const sub of ['checkpoints', 'output/model']) mkdirSync(join(dir, sub), { recursive: true });
    const write = (path: string) => writeFileSync(join(dir, path), path);
    const warnings: string[] = [];
    const first = createCheckpointLedger(dir, { keepLast: 2 }, (m) => warnings.push(m));
    for (const i of [1, 2]) {
      write(`checkpoints/${i}.ckpt`);
      first.record({ path: `checkpoints/${i}.ckpt`, step: i });
    }
    write('output/model/model.bin');
    first.record({ path: 'output/model/model.bin' }); // reported as a checkpoint: kept as one, but never deleted
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['2.ckpt']);
    const second = createCheckpointLedger(dir, { keepLast: 2 }, (m) => warnings.push(m)); // a retry: same job directory
    write('checkpoints/3.ckpt');
    second.record({ path: 'checkpoints/3.ckpt', step: 3 });
    second.record({ path: 'checkpoints/3.ckpt', step: 3 }); // reported twice: one entry
    second.record({ path: '../outside.ckpt' });
    expect(second.paths()).toEqual(['checkpoints/3.ckpt', '../outside.ckpt']);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['3.ckpt']);
    expect(existsSync(join(dir, 'output/model/model.bin'))).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('counts a checkpoint directory as one checkpoint: its files are kept together, and a dropped one goes with its directory', () => {
    const dir = join(root, 'sdk-job');
    const warnings: string[] = [];
    const ledger = createCheckpointLedger(dir, { keepLast: 2 }, (m) => warnings.push(m));
    // As the trainer SDK writes them: checkpoints/epoch-000N/ with several files, each reported.
    for (const epoch of [1, 2, 3]) {
      const name = `epoch-000${epoch}`;
      mkdirSync(join(dir, 'checkpoints', name), { recursive: true });
      for (const file of ['weights.f64', 'adam.f64', 'state.json', 'config.json']) {
        writeFileSync(join(dir, 'checkpoints', name, file), file);
        ledger.record({ path: `checkpoints/${name}/${file}`, step: epoch });
      }
    }
    // The newest two checkpoints whole (4 files each), the oldest gone with its directory.
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['epoch-0002', 'epoch-0003']);
    expect(readdirSync(join(dir, 'checkpoints', 'epoch-0003')).sort()).toEqual(['adam.f64', 'config.json', 'state.json', 'weights.f64']);
    expect(ledger.paths()).toHaveLength(8);
    // A ledger from before checkpoints were grouped (one path per entry) still reads.
    writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ entries: [{ path: 'checkpoints/epoch-0002/weights.f64', step: 2 }] }));
    expect(createCheckpointLedger(dir, { keepLast: 2 }, (m) => warnings.push(m)).paths()).toEqual(['checkpoints/epoch-0002/weights.f64']);
    expect(warnings).toEqual([]);
  });
});
