import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '@trainyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetricsStore, downsample } from './metrics-store';

const root = mkdtempSync(join(tmpdir(), 'trainyard-metrics-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('metrics store', () => {
  it('sums up every point of each series (files larger than its first read buffer too), a running job’s buffered points, only the names asked for, a torn record ignored', async () => {
    const store = createMetricsStore(root);
    const [long, running, empty] = [newId(), newId(), newId()];
    const writer = await store.writer(long);
    // 20 000 points (480 KB): the lowest at step 12 345, the highest at step 7.
    for (let step = 1; step <= 20_000; step += 1) writer.append('loss', step, step === 12_345 ? -1 : step === 7 ? 99 : 1 + step / 1e6);
    writer.append('acc', 1, 0.5);
    await writer.close();
    appendFileSync(join(root, long, '0.f64'), Buffer.alloc(10)); // a torn record after the last whole one
    const live = await store.writer(running);
    live.append('loss', 3, 0.25); // still buffered: the summary flushes it first
    const [summaries, ofRunning, ofEmpty] = await store.summariesOf([long, running, empty], undefined);
    expect(summaries?.['loss']).toEqual({ last: 1 + 20_000 / 1e6, lastStep: 20_000, min: -1, minStep: 12_345, max: 99, maxStep: 7, count: 20_000 });
    expect(summaries?.['acc']).toEqual({ last: 0.5, lastStep: 1, min: 0.5, minStep: 1, max: 0.5, maxStep: 1, count: 1 });
    expect(ofRunning).toEqual({ loss: { last: 0.25, lastStep: 3, min: 0.25, minStep: 3, max: 0.25, maxStep: 3, count: 1 } });
    expect(ofEmpty).toEqual({}); // no metrics yet: no directory
    expect(Object.keys((await store.summariesOf([long], ['acc', 'missing']))[0] ?? {})).toEqual(['acc']);
    await live.close();
  });

  it('marks how far every series is written and rewinds to it (a re-attached runner job drops what it will be sent again)', async () => {
    const store = createMetricsStore(root);
    const job = newId();
    const first = await store.writer(job);
    for (let step = 1; step <= 3; step += 1) first.append('train_loss', step, step);
    const mark = await first.mark();
    first.append('train_loss', 4, 4);
    first.append('val_loss', 4, 4); // a series begun after the mark
    await first.close();
    const again = await store.writer(job);
    await again.rewind(mark);
    again.append('train_loss', 4, 4);
    await again.close();
    const data = await store.read(job, undefined, 100);
    expect(data['train_loss']?.step).toEqual([1, 2, 3, 4]);
    expect(data['val_loss']?.total ?? 0).toBe(0);
  });

  it('appends series and reads them back exactly when they fit', async () => {
    const store = createMetricsStore(root);
    const job = newId();
    const writer = await store.writer(job);
    for (let step = 0; step < 1_000; step += 1) {
      writer.append('train_loss', step, 1 / (step + 1), 1_000 + step);
      if (step % 10 === 0) writer.append('val_accuracy', step, step / 1_000, 2_000 + step);
    }
    await writer.flush();
    expect(await store.seriesNames(job)).toEqual(['train_loss', 'val_accuracy']);
    const data = await store.read(job, undefined, 5_000);
    expect(data['train_loss']?.total).toBe(1_000);
    expect(data['train_loss']?.value[999]).toBeCloseTo(1 / 1_000);
    expect(data['val_accuracy']?.step.slice(0, 3)).toEqual([0, 10, 20]);
    expect(data['val_accuracy']?.time[1]).toBe(2_010);
    expect(await store.read(job, ['val_accuracy', 'missing'], 10)).toEqual({ val_accuracy: expect.objectContaining({ total: 100 }) });
  });

  it('a read while the job runs includes the points still buffered in its writer', async () => {
    const store = createMetricsStore(root);
    const job = newId();
    const writer = await store.writer(job);
    for (let step = 1; step <= 50; step += 1) writer.append('loss', step, 1 / step);
    // Nothing flushed yet (far below the batch size), yet a chart opened now sees all 50.
    expect((await store.read(job, ['loss'], 1_000))['loss']?.step).toHaveLength(50);
    writer.append('loss', 51, 0.01);
    await writer.close();
    expect((await store.read(job, ['loss'], 1_000))['loss']?.total).toBe(51);
  });

  it('keeps extremes when downsampling', () => {
    const total = 100_000;
    const points = new Float64Array(total * 3);
    for (let i = 0; i < total; i += 1) points.set([i, Math.sin(i / 1_000), i], i * 3);
    points[54_321 * 3 + 1] = 50; // a spike
    points[77_777 * 3 + 1] = -50; // a dip
    const sampled = downsample(points, total, 2_000);
    expect(sampled.value.length).toBeLessThanOrEqual(2_000);
    expect(sampled.value).toContain(50);
    expect(sampled.value).toContain(-50);
    expect(sampled.step).toEqual([...sampled.step].sort((a, b) => a - b));
  });

  it('survives a crash up to the last flushed batch and ignores a torn record', async () => {
    const store = createMetricsStore(root);
    const job = newId();
    const script = fileURLToPath(new URL('./test-fixtures/crashing-metrics-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, root, job], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('flushed') && resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    appendFileSync(join(root, job, '0.f64'), Buffer.alloc(10)); // half a record, as a torn write would leave
    const data = await store.read(job, ['loss'], 1_000_000);
    expect(data['loss']?.total).toBe(10_000);
    expect(data['loss']?.step.at(-1)).toBe(9_999);
  });
});
