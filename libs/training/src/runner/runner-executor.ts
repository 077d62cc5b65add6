import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '@trainyard/artifacts';
import { DomainError, type Logger, replaceFile } from '@trainyard/core';
import type { TrainerExecutor } from '../executor.port';
import {
  createEventIntake,
  type Execution,
  type ExecutionOutcome,
  type ExecutionRequest,
  type JobResources,
  type SchedulerState,
  type StoredOutputs,
} from '../local-executor';
import type { LiveRunnerAttempt, RunnerHub } from './runner-hub';
import { jobRelativePath, type RunnerFinish, type RunnerInputs, type RunnerRecord } from './runner-protocol';
import { checkpointPolicyOf, createCheckpointLedger } from '../checkpoint-retention';

/** Mints and revokes job-scoped tokens: libs/auth's job-token service, passed in by apps/server (training does not import auth). */
export interface JobTokenIssuer {
  mint(grant: { jobId: string; attempt: number; readableBlobs: readonly string[]; ttlMs: number }): Promise<{ token: string; expiresAt: Date }>;
  revokeForJob(jobId: string): Promise<unknown>;
}

/** A runner somewhere: a process here (runner-local), a Kubernetes Job or a SageMaker training job. */
export interface RunnerHandle {
  /** Asks the runner to stop (SIGTERM: it stops its trainer, which checkpoints) or ends it (SIGKILL). */
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Settles when the runner is gone, with how it ended (a runner normally reports its finish before it exits). */
  gone: Promise<string>;
  /** Removes what the launch left behind (the local runner's temporary directory). */
  cleanUp(): Promise<void>;
}

/** What a launcher is given to start one attempt's runner. */
export interface RunnerLaunch {
  jobId: string;
  attempt: number;
  /** The server's copy of the job directory: `input/config/` (job.json, hyperparameters.json) and `runner/` for the launcher's own records. */
  jobDir: string;
  /** Where the runner reaches this server. */
  serverUrl: string;
  /** The attempt's job token: a launcher keeps it out of anything readable by others (a Kubernetes Secret, not the pod spec). */
  token: string;
  /** The trainer's environment as the orchestrator built it (the runner filters it again). */
  env: Record<string, string | undefined>;
  /** What the job asked for: cpus, memory, GPUs, timeout, and where it runs (image, namespace, instance type…). */
  resources: JobResources;
  /** How long the trainer gets between SIGTERM and SIGKILL (its checkpoint grace). */
  graceMs: number;
  /** The platform's view of the runner (pending and why, running, its id there): shown on the job as `scheduler`. */
  onState?(state: SchedulerState): void;
}

/**
 * How a runner executor starts runners and finds them again: the only part a cloud executor
 * writes. `launch` records in `<jobDir>/runner/` whatever `find` needs after a server restart.
 */
export interface RunnerLauncher {
  launch(launch: RunnerLaunch): Promise<RunnerHandle>;
  /** The runner an earlier holder of the lease launched for this attempt, if it is still there. */
  find(jobDir: string, attempt: number, follow?: Pick<RunnerLaunch, 'onState'>): Promise<RunnerHandle | undefined>;
}

export interface RunnerExecutorOptions {
  kind: string;
  launcher: RunnerLauncher;
  tokens: JobTokenIssuer;
  blobs: Pick<BlobStore, 'put' | 'stat'>;
  hub: RunnerHub;
  /** Where runners reach this server (known once it listens). */
  serverUrl: () => string;
  logger: Logger;
  /** A job token's lifetime without a timeout (default 72 h); with one, the timeout plus an hour. */
  tokenTtlMs?: number;
  maxRunning?: number;
}

const CHANNELS = ['train', 'validation'] as const;
/** How long after a runner is gone its finish may still be arriving. */
const GONE_GRACE_MS = 2_000;

const runnerFiles = (jobDir: string, attempt: number) => ({
  dir: join(jobDir, 'runner'),
  acked: join(jobDir, 'runner', `attempt-${attempt}.acked`),
  outputs: join(jobDir, 'runner', `attempt-${attempt}.outputs.json`),
  tokenExpiry: join(jobDir, 'runner', `attempt-${attempt}.token-expires`),
  channels: join(jobDir, 'runner', `attempt-${attempt}.channels.json`),
});

const readHashes = async (file: string): Promise<string[]> => {
  const parsed = JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as unknown;
  const values = Array.isArray(parsed) ? parsed : parsed && typeof parsed === 'object' ? Object.values(parsed) : [];
  return values.flatMap((value) => {
    const hash = (value as { sha256?: unknown } | null)?.sha256;
    return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash) ? [hash] : [];
  });
};

/**
 * The blobs a runner job's directory keeps alive: everything its runners uploaded (a failed
 * attempt's checkpoints are no artifacts, yet a retry resumes from them, as a local retry finds
 * its `checkpoints/`) and, while the job may still run, the input channels stored for its runners.
 * Blob garbage collection counts them as referenced until the job is deleted.
 */
export const runnerBlobsOf = async (jobDir: string, active: boolean): Promise<string[]> => {
  const names = await readdir(join(jobDir, 'runner')).catch(() => [] as string[]);
  const hashes: string[] = [];
  for (const name of names) {
    if (/^attempt-\d+\.outputs\.json$/.test(name) || (active && /^attempt-\d+\.channels\.json$/.test(name)))
      hashes.push(...(await readHashes(join(jobDir, 'runner', name))));
  }
  return hashes;
};

/** The snapshot's channels of the server's job directory, stored as blobs: what the runner downloads (and the token may read). */
const storeChannels = async (blobs: Pick<BlobStore, 'put'>, jobDir: string): Promise<RunnerInputs['channels']> => {
  const channels: RunnerInputs['channels'] = [];
  for (const name of CHANNELS) {
    const file = join(jobDir, 'input', 'data', name, 'data.jsonl');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) continue;
    const stored = await blobs.put(createReadStream(file));
    channels.push({ name, sha256: stored.sha256, bytes: stored.size });
  }
  return channels;
};

/** The logs records are appended to (the trainer's streams, and `log` events in events.log). */
const RECORD_LOGS = ['stdout.log', 'stderr.log', 'events.log'] as const;

const logSizes = async (jobDir: string): Promise<Record<string, number>> => {
  const sizes: Record<string, number> = {};
  for (const name of RECORD_LOGS) sizes[name] = (await stat(join(jobDir, 'logs', name)).catch(() => undefined))?.size ?? 0;
  return sizes;
};

/**
 * The last sequence number applied and acknowledged, with the logs and the metric series cut back
 * to their sizes at that moment: what a server killed mid-batch recorded after it is removed,
 * since the runner sends that batch again.
 */
const restoreAcknowledged = async (file: string, jobDir: string, request: Pick<ExecutionRequest, 'rewindEvents'>): Promise<number> => {
  const saved = JSON.parse(await readFile(file, 'utf8').catch(() => '{"seq":0,"logs":{}}')) as {
    seq?: unknown;
    logs?: Record<string, unknown>;
    metrics?: unknown;
  };
  if (saved.metrics !== undefined) await request.rewindEvents?.(saved.metrics);
  for (const name of RECORD_LOGS) {
    const size = saved.logs?.[name];
    const log = join(jobDir, 'logs', name);
    if (typeof size === 'number' && ((await stat(log).catch(() => undefined))?.size ?? 0) > size) await truncate(log, size);
  }
  return typeof saved.seq === 'number' && Number.isSafeInteger(saved.seq) && saved.seq >= 0 ? saved.seq : 0;
};

/**
 * What an earlier attempt's runner uploaded of `checkpoints/` (and of other checkpoints the job's
 * ledger, `checkpoints.json` in the server's job directory, keeps), still stored: a retry's inputs,
 * as the local executor's retry finds its job directory's `checkpoints/`.
 */
const earlierCheckpoints = async (blobs: Pick<BlobStore, 'stat'>, jobDir: string, attempt: number): Promise<RunnerInputs['checkpoints']> => {
  const kept = new Set(createCheckpointLedger(jobDir, checkpointPolicyOf({}), () => undefined).paths());
  const uploaded = new Map<string, { sha256: string; size: number }>();
  for (let earlier = 1; earlier < attempt; earlier += 1) {
    const saved = await readFile(runnerFiles(jobDir, earlier).outputs, 'utf8').catch(() => '{}');
    for (const [path, blob] of Object.entries(JSON.parse(saved) as Record<string, { sha256: string; size: number }>)) uploaded.set(path, blob);
  }
  const checkpoints: RunnerInputs['checkpoints'] = [];
  for (const [path, blob] of uploaded) {
    // What a local retry would find: `checkpoints/` (kept across attempts), and reported checkpoints elsewhere the job keeps.
    if (!(path.startsWith('checkpoints/') || kept.has(path)) || !jobRelativePath.safeParse(path).success) continue;
    // A failed attempt's uploads are no artifacts yet: blob GC may have taken them (after its grace period).
    if ((await blobs.stat(blob.sha256))?.size === blob.size) checkpoints.push({ path, sha256: blob.sha256, bytes: blob.size });
  }
  return checkpoints;
};

/**
 * Trainers run by a runner (docs/runner.md): a program that reaches this server only over HTTP,
 * lays out the job directory where it runs, runs the trainer exactly as the local executor does
 * and sends back its events, log lines and outputs with a job-scoped token. This executor mints
 * the token, launches the runner (through `launcher`), answers the runner routes for the attempt
 * (through `hub`) and turns the runner's finish into the run's outcome. The template of the cloud
 * executors: they differ only in their launcher.
 *
 * Event records are re-checked here with the trainer protocol's own parser; log lines go to the
 * server's copy of the job directory (`logs/stdout.log`, `logs/stderr.log`), so `jobs.logs` and
 * a failure's reason work as for a local run; records are applied once each, by sequence number,
 * and how far they got is kept beside them (`runner/attempt-<n>.acked`), so a runner that
 * retries, or a server that re-attaches after a restart, never applies one twice.
 */
export const createRunnerExecutor = (options: RunnerExecutorOptions): TrainerExecutor => {
  const start = (request: ExecutionRequest): Execution => {
    const job = request.job;
    const intake = createEventIntake(request);
    let resolveDone!: (outcome: ExecutionOutcome) => void;
    const done = new Promise<ExecutionOutcome>((resolve) => (resolveDone = resolve));
    const files = runnerFiles(request.jobDir, job?.attempt ?? 0);
    const outputs = new Map<string, { sha256: string; size: number }>();
    /** What the runner counted itself: malformed lines it did not send one by one, points it skipped as NaN/Infinity. */
    let runnerBad: { unsent: number; last: Array<{ line: string; error: string }> } = { unsent: 0, last: [] };
    let runnerNonFinite = 0;
    let acked = 0;
    let handle: RunnerHandle | undefined;
    let finished = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let applying: Promise<unknown> = Promise.resolve();
    let channels: RunnerInputs['channels'] = [];
    let checkpoints: RunnerInputs['checkpoints'] = [];
    let tokenExpiresAt = '';

    const end = async (outcome: ExecutionOutcome, revoke = true): Promise<void> => {
      if (finished) return;
      finished = true;
      clearTimeout(killTimer);
      options.hub.unregister(job?.id ?? '', attempt);
      if (revoke && job)
        await options.tokens
          .revokeForJob(job.id)
          .catch((error: unknown) => options.logger.error({ err: error, jobId: job.id }, 'revoking the job token failed'));
      if (revoke) await handle?.cleanUp().catch(() => undefined);
      resolveDone(outcome);
    };

    const applyRecord = async (record: RunnerRecord): Promise<void> => {
      if (record.kind === 'log') {
        await appendFile(join(request.jobDir, 'logs', `${record.stream}.log`), `${record.line}\n`);
      } else if (record.kind === 'bad_event') {
        intake.bad(record.line, record.error);
      } else {
        // The runner parsed it already; parsed again here with the protocol's own rules, since a token holder may send anything.
        intake.line(JSON.stringify(record.event));
      }
    };

    const attempt: LiveRunnerAttempt = {
      attempt: job?.attempt ?? 0,
      async inputs() {
        const read = async (name: string): Promise<Record<string, unknown>> =>
          JSON.parse(await readFile(join(request.jobDir, 'input', 'config', name), 'utf8')) as Record<string, unknown>;
        const config = await read('job.json');
        return {
          job: {
            id: String(config['id']),
            name: String(config['name']),
            attempt: Number(config['attempt']),
            trainer: config['trainer'],
            datasetSnapshotId: typeof config['datasetSnapshotId'] === 'string' ? config['datasetSnapshotId'] : null,
          },
          hyperparameters: await read('hyperparameters.json'),
          command: [...request.command],
          channels,
          checkpoints,
          acked,
          tokenExpiresAt,
          timeoutMs: request.timeoutMs ?? null,
          graceMs: request.graceMs,
        };
      },
      records(records) {
        // One batch at a time, in order: a retry that overlaps the request it repeats waits for it, then skips what it applied.
        const result = applying.then(async () => {
          if (finished) throw new DomainError('FAILED_PRECONDITION', 'This attempt has ended');
          for (const record of records) {
            if (record.seq <= acked) continue;
            if (record.seq !== acked + 1)
              throw new DomainError('CONFLICT', `Record ${record.seq} arrived before ${acked + 1}; send from ${acked + 1}`, { acked });
            await applyRecord(record);
            acked = record.seq;
          }
          // Acknowledged only once recorded for good: the runner drops what it sees acknowledged, and a server
          // killed now would otherwise lose metric points still in memory.
          const metrics = await request.flushEvents?.();
          await replaceFile(files.acked, JSON.stringify({ seq: acked, logs: await logSizes(request.jobDir), metrics }));
          return { acked, cancelRequested: cancelled };
        });
        applying = result.catch(() => undefined);
        return result;
      },
      async outputs(list) {
        for (const file of list) {
          const info = await options.blobs.stat(file.sha256);
          if (!info || info.size !== file.size) {
            throw new DomainError('FAILED_PRECONDITION', `Output ${file.path}: blob ${file.sha256} of ${file.size} bytes is not stored; upload it first`, {
              path: file.path,
            });
          }
        }
        for (const file of list) outputs.set(file.path, { sha256: file.sha256, size: file.size });
        await replaceFile(files.outputs, JSON.stringify(Object.fromEntries(outputs)));
        return { registered: list.length };
      },
      async finish(body: RunnerFinish) {
        await applying;
        if (finished) return;
        if (body.lastSeq !== acked)
          throw new DomainError('CONFLICT', `Records up to ${body.lastSeq} were sent, ${acked} applied; send the rest first`, { acked });
        const reported = body.outcome;
        runnerBad = { unsent: body.badEvents.unsent, last: body.badEvents.last };
        runnerNonFinite = body.nonFiniteMetrics;
        const stored: StoredOutputs = new Map(outputs);
        if (reported.kind === 'setup_failed') return end({ kind: 'spawn_failed', message: reported.message });
        if (reported.kind === 'exited' && !cancelled) return end({ kind: 'exited', exitCode: reported.exitCode, signal: null, outputs: stored });
        if (reported.kind === 'exited') return end({ kind: 'killed', exitCode: reported.exitCode, signal: null, reason: 'cancelled' });
        return end({ kind: 'killed', exitCode: reported.exitCode, signal: reported.signal, reason: cancelled ? 'cancelled' : reported.reason });
      },
    };

    const follow = (runner: RunnerHandle): void => {
      handle = runner;
      void runner.gone.then(async (how) => {
        await new Promise((resolve) => setTimeout(resolve, GONE_GRACE_MS));
        await applying;
        if (finished) return;
        // Cancelled and gone: the cancel is what happened, whether or not the runner could say so.
        if (cancelled) await end({ kind: 'killed', exitCode: null, signal: how, reason: 'cancelled' });
        else await end({ kind: 'spawn_failed', message: `the runner ended without reporting its trainer's end (${how}); see logs/runner.log` });
      });
    };

    const followState: Pick<RunnerLaunch, 'onState'> = request.onSchedulerState ? { onState: (state) => request.onSchedulerState?.(state) } : {};

    void (async () => {
      try {
        if (!job) throw new Error('a runner executor needs the job (id, attempt) a run belongs to');
        await mkdir(files.dir, { recursive: true });
        await mkdir(join(request.jobDir, 'logs'), { recursive: true });
        channels = await storeChannels(options.blobs, request.jobDir);
        // Kept by blob GC while the job may run: the runner may download them much later (a pod pending for hours).
        await replaceFile(files.channels, JSON.stringify(channels));
        checkpoints = await earlierCheckpoints(options.blobs, request.jobDir, job.attempt);
        // Kept from earlier attempts: registered with this attempt's outputs unless the trainer reports them anew.
        for (const checkpoint of checkpoints) outputs.set(checkpoint.path, { sha256: checkpoint.sha256, size: checkpoint.bytes });
        if (request.reattach) {
          acked = await restoreAcknowledged(files.acked, request.jobDir, request);
          tokenExpiresAt = (await readFile(files.tokenExpiry, 'utf8').catch(() => '')).trim();
          const saved = JSON.parse(await readFile(files.outputs, 'utf8').catch(() => '{}')) as Record<string, { sha256: string; size: number }>;
          for (const [path, blob] of Object.entries(saved)) outputs.set(path, blob);
          options.hub.register(job.id, attempt);
          const found = await options.launcher.find(request.jobDir, job.attempt, followState);
          if (!found) return await end({ kind: 'spawn_failed', message: 'the runner of this attempt is gone (it ended while no server followed it)' });
          follow(found);
          if (cancelled) found.signal('SIGTERM');
          return;
        }
        const timeoutSeconds = job.resources.timeoutSeconds;
        const ttlMs = timeoutSeconds ? timeoutSeconds * 1_000 + 3_600_000 : (options.tokenTtlMs ?? 72 * 3_600_000);
        const { token, expiresAt } = await options.tokens.mint({
          jobId: job.id,
          attempt: job.attempt,
          readableBlobs: [...channels, ...checkpoints].map((c) => c.sha256),
          ttlMs,
        });
        tokenExpiresAt = expiresAt.toISOString();
        await replaceFile(files.tokenExpiry, tokenExpiresAt);
        options.hub.register(job.id, attempt);
        follow(
          await options.launcher.launch({
            jobId: job.id,
            attempt: job.attempt,
            jobDir: request.jobDir,
            serverUrl: options.serverUrl(),
            token,
            env: request.env,
            resources: job.resources,
            graceMs: request.graceMs,
            ...followState,
          }),
        );
        if (cancelled) handle?.signal('SIGTERM');
      } catch (error) {
        await end({ kind: 'spawn_failed', message: `the runner could not be started: ${error instanceof Error ? error.message : String(error)}` });
      }
    })();

    return {
      pid: undefined,
      done,
      cancel() {
        if (cancelled || finished) return;
        cancelled = true;
        // The runner hands SIGTERM to its trainer (which checkpoints), uploads, reports and exits; past the grace
        // period and a margin for the uploads, it is ended.
        handle?.signal('SIGTERM');
        killTimer = setTimeout(() => {
          handle?.signal('SIGKILL');
          void end({ kind: 'killed', exitCode: null, signal: 'SIGKILL', reason: 'cancelled' });
        }, request.graceMs + 30_000);
      },
      detach() {
        // The runner goes on; the next holder of the lease re-attaches (its token stays valid until the attempt ends).
        void end({ kind: 'detached' }, false);
      },
      badEvents: () => {
        const here = intake.badEvents();
        return { count: here.count + runnerBad.unsent, last: runnerBad.unsent > 0 ? runnerBad.last : here.last };
      },
      nonFiniteMetrics: () => intake.nonFiniteMetrics() + runnerNonFinite,
    };
  };

  return {
    kind: options.kind,
    onTakeover: 'reattach',
    onShutdown: 'detach',
    ...(options.maxRunning ? { maxRunning: options.maxRunning } : {}),
    start,
    async stopOrphan(jobDir) {
      // A job taken over while validating: whatever is left of its runners is ended.
      const records = await readdir(runnerFiles(jobDir, 0).dir).catch(() => [] as string[]);
      for (const name of records) {
        const attemptNumber = /^attempt-(\d+)\.json$/.exec(name)?.[1];
        if (attemptNumber) (await options.launcher.find(jobDir, Number(attemptNumber)).catch(() => undefined))?.signal('SIGKILL');
      }
    },
  };
};
