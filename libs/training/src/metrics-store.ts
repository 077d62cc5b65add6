import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricSeries, MetricSummary } from '@trainyard/contracts';
import { DomainError, isUuid } from '@trainyard/core';
import { summariseSeries } from './metric-summary';

/**
 * Metric time series, append-only on disk: one file per series of fixed 24-byte records
 * (step, value, time as float64) and a `series.ndjson` dictionary of names. Writes are batched
 * in memory and appended in one write per series; a crash loses at most the batch not yet
 * flushed, and a torn last record is ignored on read. No database row per point.
 */
const RECORD_BYTES = 24;
const FLUSH_POINTS = 65_536;
/** Jobs whose metric files one summary pass reads before it lets other work run. */
const SUMMARY_JOBS_PER_TURN = 50;

/** One series' (downsampled) points: the API's metricSeriesOutput. */
export type SeriesData = MetricSeries;

export interface MetricsWriter {
  append(name: string, step: number, value: number, time?: number): void;
  flush(): Promise<void>;
  /** Flushes and stops being the job's live writer (reads no longer wait on it). */
  close(): Promise<void>;
  /** Drops the points not yet written and stops being the live writer (its worker lost the job's lease). */
  discard(): void;
  /** Flushes, then how many records each series file holds: a mark `rewind` can go back to. */
  mark(): Promise<MetricsMark>;
  /** Cuts every series back to a mark (points written after it are removed; series begun after it emptied). */
  rewind(mark: MetricsMark): Promise<void>;
}

/** Records per series file index at one moment (see MetricsWriter.mark). */
export type MetricsMark = Record<string, number>;

const jobDir = (root: string, jobId: string): string => {
  // The id comes from our own database, but a path is only ever built from a well-formed UUID.
  if (!isUuid(jobId)) throw new DomainError('INVALID_ARGUMENT', 'Invalid job id', { jobId });
  return join(root, jobId);
};

interface Pending {
  file: string;
  buffer: Float64Array;
  length: number;
}

export const createMetricsStore = (root: string) => {
  const readNames = (dir: string): string[] =>
    existsSync(join(dir, 'series.ndjson'))
      ? readFileSync(join(dir, 'series.ndjson'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { name: string }).name)
      : [];

  // Writers of running jobs: a read flushes the job's buffered points first, so a chart opened
  // mid-run gets every point so far, and live events continue exactly where it ends.
  const live = new Map<string, MetricsWriter>();

  return {
    async writer(jobId: string): Promise<MetricsWriter> {
      const dir = jobDir(root, jobId);
      await mkdir(dir, { recursive: true });
      const indexes = new Map(readNames(dir).map((name, index) => [name, index]));
      const pending = new Map<string, Pending>();
      let flushing = Promise.resolve();

      const seriesFor = (name: string): Pending => {
        let series = pending.get(name);
        if (!series) {
          let index = indexes.get(name);
          if (index === undefined) {
            index = indexes.size;
            indexes.set(name, index);
            // Synchronous and tiny: the dictionary entry must exist before any point of the series.
            appendFileSync(join(dir, 'series.ndjson'), `${JSON.stringify({ index, name })}\n`);
          }
          series = { file: join(dir, `${index}.f64`), buffer: new Float64Array(3 * 4_096), length: 0 };
          pending.set(name, series);
        }
        return series;
      };

      const drain = async (): Promise<void> => {
        for (const series of pending.values()) {
          if (series.length === 0) continue;
          const bytes = Buffer.from(series.buffer.buffer, 0, series.length * RECORD_BYTES);
          const copy = Buffer.from(bytes); // the buffer is reused as soon as we return
          series.length = 0;
          await appendFile(series.file, copy);
        }
      };

      let buffered = 0;
      const writer: MetricsWriter = {
        append(name, step, value, time = Date.now()) {
          const series = seriesFor(name);
          if ((series.length + 1) * 3 > series.buffer.length) {
            const grown = new Float64Array(series.buffer.length * 2);
            grown.set(series.buffer);
            series.buffer = grown;
          }
          series.buffer.set([step, value, time], series.length * 3);
          series.length += 1;
          buffered += 1;
          if (buffered >= FLUSH_POINTS) {
            buffered = 0;
            flushing = flushing.then(drain);
          }
        },
        flush() {
          buffered = 0;
          flushing = flushing.then(drain);
          return flushing;
        },
        async close() {
          await writer.flush();
          if (live.get(jobId) === writer) live.delete(jobId);
        },
        async mark() {
          await writer.flush();
          const mark: MetricsMark = {};
          for (const index of indexes.values()) {
            const size = (await stat(join(dir, `${index}.f64`)).catch(() => undefined))?.size ?? 0;
            mark[String(index)] = Math.floor(size / RECORD_BYTES);
          }
          return mark;
        },
        async rewind(mark) {
          await flushing;
          for (const index of indexes.values()) {
            const file = join(dir, `${index}.f64`);
            const keep = (mark[String(index)] ?? 0) * RECORD_BYTES;
            if (((await stat(file).catch(() => undefined))?.size ?? 0) > keep) await truncate(file, keep);
          }
        },
        discard() {
          for (const series of pending.values()) series.length = 0;
          buffered = 0;
          if (live.get(jobId) === writer) live.delete(jobId);
        },
      };
      live.set(jobId, writer);
      return writer;
    },

    /** The last value of every series (the job's final metrics), reading one record per file. */
    async lastValues(jobId: string): Promise<Record<string, number>> {
      const dir = jobDir(root, jobId);
      const result: Record<string, number> = {};
      for (const [index, name] of readNames(dir).entries()) {
        const file = join(dir, `${index}.f64`);
        if (!existsSync(file)) continue;
        const handle = await open(file, 'r');
        try {
          const { size } = await handle.stat();
          const records = Math.floor(size / RECORD_BYTES);
          if (records === 0) continue;
          const last = Buffer.alloc(RECORD_BYTES);
          await handle.read(last, 0, RECORD_BYTES, (records - 1) * RECORD_BYTES);
          result[name] = last.readDoubleLE(8);
        } finally {
          await handle.close();
        }
      }
      return result;
    },

    /** Deletes a job's metric files (the job is gone; no writer may be open for it). */
    async remove(jobId: string): Promise<void> {
      await rm(jobDir(root, jobId), { recursive: true, force: true });
    },

    async seriesNames(jobId: string): Promise<string[]> {
      return readNames(jobDir(root, jobId));
    },

    /**
     * Each job's series summed up (last, min, max with their steps, count) from one pass over
     * all their records — not the downsampled read, which could miss a minimum between a
     * bucket's points. Only the names asked for (all without `names`); a series with no points is
     * left out. Files are read synchronously into one reused buffer (an async read costs several
     * thread-pool round trips per file: 3–4× slower for thousands of small files), yielding to the
     * event loop every few jobs so other requests are not held up.
     */
    async summariesOf(jobIds: readonly string[], names: readonly string[] | undefined): Promise<Array<Record<string, MetricSummary>>> {
      const dirs = jobIds.map((jobId) => jobDir(root, jobId));
      await Promise.all(jobIds.map((jobId) => live.get(jobId)?.flush()));
      const wanted = names ? new Set(names) : undefined;
      let scratch = Buffer.allocUnsafeSlow(64 * 1024); // its own ArrayBuffer at offset 0: aligned for Float64Array
      const results: Array<Record<string, MetricSummary>> = [];
      for (const [position, dir] of dirs.entries()) {
        if (position > 0 && position % SUMMARY_JOBS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        const result: Record<string, MetricSummary> = {};
        for (const [index, name] of readNames(dir).entries()) {
          if (wanted && !wanted.has(name)) continue;
          let handle: number;
          try {
            handle = openSync(join(dir, `${index}.f64`), 'r');
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
            throw error;
          }
          let read = 0;
          try {
            // Read to the end without a stat: a short read is the end of the file.
            for (;;) {
              if (read === scratch.length) {
                const grown = Buffer.allocUnsafeSlow(scratch.length * 4);
                scratch.copy(grown, 0, 0, read);
                scratch = grown;
              }
              const got = readSync(handle, scratch, read, scratch.length - read, read);
              read += got;
              if (read < scratch.length) break;
            }
          } finally {
            closeSync(handle);
          }
          const total = Math.floor(read / RECORD_BYTES); // a torn final record is ignored
          const summary = summariseSeries(new Float64Array(scratch.buffer, 0, total * 3), total);
          if (summary) result[name] = summary;
        }
        results.push(result);
      }
      return results;
    },

    /**
     * One series' points from its `from`-th record on (at most `limit`), as recorded: `[step, value]`
     * pairs and where the next read starts. Flushes the job's live writer first, like `read`.
     */
    async points(jobId: string, name: string, from: number, limit: number): Promise<{ points: Array<[number, number]>; next: number }> {
      const dir = jobDir(root, jobId);
      await live.get(jobId)?.flush();
      const index = readNames(dir).indexOf(name);
      if (index === -1) return { points: [], next: from };
      const handle = await open(join(dir, `${index}.f64`), 'r').catch(() => undefined);
      if (!handle) return { points: [], next: from };
      try {
        const { size } = await handle.stat();
        const count = Math.max(0, Math.min(limit, Math.floor(size / RECORD_BYTES) - from)); // a torn final record waits
        const bytes = Buffer.alloc(count * RECORD_BYTES);
        if (count > 0) await handle.read(bytes, 0, bytes.length, from * RECORD_BYTES);
        const points: Array<[number, number]> = [];
        for (let i = 0; i < count; i += 1) points.push([bytes.readDoubleLE(i * RECORD_BYTES), bytes.readDoubleLE(i * RECORD_BYTES + 8)]);
        return { points, next: from + count };
      } finally {
        await handle.close();
      }
    },

    /**
     * Series downsampled to at most `maxPoints` each by min/max buckets: every bucket keeps its
     * lowest and highest point in step order, so spikes stay visible on a chart.
     */
    async read(jobId: string, names: readonly string[] | undefined, maxPoints: number): Promise<Record<string, SeriesData>> {
      const dir = jobDir(root, jobId);
      await live.get(jobId)?.flush();
      const all = readNames(dir);
      const result: Record<string, SeriesData> = {};
      for (const name of names ?? all) {
        const index = all.indexOf(name);
        if (index === -1) continue;
        const file = join(dir, `${index}.f64`);
        const bytes = existsSync(file) ? await readFile(file) : Buffer.alloc(0);
        const total = Math.floor(bytes.length / RECORD_BYTES); // a torn final record is ignored
        const points = new Float64Array(bytes.buffer, bytes.byteOffset, total * 3);
        result[name] = downsample(points, total, maxPoints);
      }
      return result;
    },
  };
};

export type MetricsStore = ReturnType<typeof createMetricsStore>;

export const downsample = (points: Float64Array, total: number, maxPoints: number): SeriesData => {
  const out: SeriesData = { step: [], value: [], time: [], total };
  const push = (i: number): void => {
    out.step.push(points[i * 3] ?? 0);
    out.value.push(points[i * 3 + 1] ?? 0);
    out.time.push(points[i * 3 + 2] ?? 0);
  };
  if (total <= maxPoints) {
    for (let i = 0; i < total; i += 1) push(i);
    return out;
  }
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  for (let b = 0; b < buckets; b += 1) {
    const start = Math.floor((b * total) / buckets);
    const end = Math.floor(((b + 1) * total) / buckets);
    let min = start;
    let max = start;
    for (let i = start + 1; i < end; i += 1) {
      const value = points[i * 3 + 1] ?? 0;
      if (value < (points[min * 3 + 1] ?? 0)) min = i;
      if (value > (points[max * 3 + 1] ?? 0)) max = i;
    }
    push(Math.min(min, max));
    if (min !== max) push(Math.max(min, max));
  }
  return out;
};
