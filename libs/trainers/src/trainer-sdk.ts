import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { z } from 'zod';

// The SDK runs inside the trainer process: its "configuration" is the protocol's environment
// and job directory (PROTOCOL.md). It imports nothing from the rest of Trainyard, so external
// TypeScript trainers can use it as is. Only relative imports: trainers run from their job dir.

const METRIC_BATCH = 1_000;
const METRIC_FLUSH_MS = 100;

export interface TrainerRuntime<H> {
  jobDir: string;
  job: { id: string; name: string; attempt: number };
  hyperparameters: H;
  /** Path of a data channel's JSONL file, or undefined if the job has no such channel. */
  channel(name: string): string | undefined;
  readJsonl<T>(file: string): AsyncIterable<T>;
  progress(fraction: number, message?: string): void;
  metric(name: string, step: number, value: number): void;
  /**
   * Lets queued event writes (progress, metrics, logs) reach Trainyard. Writes are asynchronous;
   * a synchronous training loop should await this now and then (every epoch, every report), or
   * the UI sees nothing until the trainer ends.
   */
  yieldToEvents(): Promise<void>;
  log(message: string, level?: 'debug' | 'info' | 'warn' | 'error'): void;
  /** Latest checkpoint written by this or an earlier attempt. */
  latestCheckpoint(): { name: string; path: string } | undefined;
  /** Writes a checkpoint atomically and reports it. Names sort by step: use `epoch-0003`. */
  saveCheckpoint(name: string, files: Record<string, Buffer | string>): void;
  writeModelFile(name: string, data: Buffer | string): void;
  /** True once SIGTERM arrived: save a checkpoint and call `exit(143)` soon. */
  readonly stopRequested: boolean;
  exit(code: number): Promise<never>;
}

export const createTrainerRuntime = <S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): TrainerRuntime<z.output<S>> => {
  const jobDir = env['TRAINYARD_JOB_DIR'];
  if (!jobDir) throw new Error('TRAINYARD_JOB_DIR is not set: run this trainer through Trainyard');
  const config = (file: string): unknown => JSON.parse(readFileSync(join(jobDir, 'input', 'config', file), 'utf8'));
  const parsed = schema.safeParse(config('hyperparameters.json'));
  if (!parsed.success) throw new Error(`Invalid hyperparameters: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

  // Asynchronous writes: the trainer never waits for the reader; points are batched per line.
  const events = existsSync('/proc/self/fd/3') || process.platform !== 'linux' ? createWriteStream('', { fd: 3 }) : undefined;
  const emit = (event: object): void => void events?.write(`${JSON.stringify(event)}\n`);
  let points: Array<[string, number, number]> = [];
  let flushedAt = Date.now();
  const flushPoints = (): void => {
    flushedAt = Date.now();
    if (points.length === 0) return;
    emit({ type: 'metrics', points });
    points = [];
  };
  // A CPU-bound training loop starves timers: the interval alone would hold every point to the end.
  const flushIfDue = (): void => {
    if (points.length >= METRIC_BATCH || Date.now() - flushedAt >= METRIC_FLUSH_MS) flushPoints();
  };
  const timer = setInterval(flushPoints, METRIC_FLUSH_MS);
  timer.unref();

  let stopRequested = false;
  process.on('SIGTERM', () => {
    stopRequested = true;
  });

  const checkpointDir = join(jobDir, 'checkpoints');
  const modelDir = join(jobDir, 'output', 'model');
  mkdirSync(checkpointDir, { recursive: true });
  mkdirSync(modelDir, { recursive: true });

  return {
    jobDir,
    job: config('job.json') as { id: string; name: string; attempt: number },
    hyperparameters: parsed.data,
    channel(name) {
      const file = join(jobDir, 'input', 'data', name, 'data.jsonl');
      return existsSync(file) ? file : undefined;
    },
    async *readJsonl<T>(file: string): AsyncIterable<T> {
      for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim()) yield JSON.parse(line) as T;
    },
    progress(fraction, message) {
      flushIfDue();
      emit({ type: 'progress', fraction: Math.min(1, Math.max(0, fraction)), ...(message ? { message } : {}) });
    },
    metric(name, step, value) {
      points.push([name, step, value]);
      flushIfDue();
    },
    yieldToEvents() {
      flushPoints();
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
    log: (message, level = 'info') => emit({ type: 'log', level, message }),
    latestCheckpoint() {
      const names = readdirSync(checkpointDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.endsWith('.tmp'))
        .map((e) => e.name)
        .sort();
      const name = names.at(-1);
      return name ? { name, path: join(checkpointDir, name) } : undefined;
    },
    saveCheckpoint(name, files) {
      // Written beside and renamed: a checkpoint is complete or absent, even if we are killed.
      const temp = join(checkpointDir, `${name}.tmp`);
      mkdirSync(temp, { recursive: true });
      for (const [file, data] of Object.entries(files)) writeFileSync(join(temp, file), data);
      renameSync(temp, join(checkpointDir, name));
      for (const file of Object.keys(files)) emit({ type: 'checkpoint', path: `checkpoints/${name}/${file}` });
    },
    writeModelFile: (name, data) => writeFileSync(join(modelDir, name), data),
    get stopRequested() {
      return stopRequested;
    },
    async exit(code) {
      flushPoints();
      clearInterval(timer);
      await new Promise<void>((resolve) => (events ? events.end(() => resolve()) : resolve()));
      process.exit(code);
    },
  };
};
