import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { TrainerSpec } from '@trainyard/contracts';
import type { GateRule } from '@trainyard/registry';
import { type CommandTrainerPolicy, runRefusal } from './command-trainer-policy';
import { type CompletionPorts, completeJob } from './job-completion';
import type { JobEventBus } from './job-event-bus';
import type { JobWorkspace } from './job-workspace';
import { type ExecutionOutcome, startLocalExecution } from './local-executor';
import type { MetricsStore, MetricsWriter } from './metrics-store';
import type { TrainerCatalog } from './trainer-catalog';
import { trainerEnvironment } from './trainer-env';
import type { JobControl } from './training-job.service';

export interface OrchestratorDeps extends CompletionPorts {
  catalog: TrainerCatalog;
  workspace: JobWorkspace;
  metrics: MetricsStore;
  bus: JobEventBus;
  /** The server's environment: trainers get only its allowed variables (trainer-env.ts). */
  env: Record<string, string | undefined>;
  /** Extra variable names passed through to trainers (TRAINYARD_TRAINER_ENV). */
  trainerEnvNames?: readonly string[];
  /** Which command trainers may run here (default: local, no allowlist). */
  commandTrainers?: CommandTrainerPolicy;
  logger: { info(fields: Record<string, unknown>, message: string): void; error(fields: Record<string, unknown>, message: string): void };
  concurrency: number;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  graceMs?: number;
}

interface ClaimedJob {
  id: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  trainer: TrainerSpec;
  hyperparameters: Record<string, unknown>;
  resources: { timeoutSeconds?: number };
  validation: GateRule[] | null;
  targetModelName: string | null;
  datasetSnapshotId: string | null;
  parentVersionId: string | null;
  leaseToken: string;
}

const backoffMs = (attempt: number): number => Math.min(1_000 * 2 ** (attempt - 1), 60_000);

/**
 * Runs queued jobs: highest priority first, up to `concurrency` at once. Each running job holds
 * a lease (owner, token, expiry) renewed by heartbeat; every write about a job is fenced on its
 * token, so a worker that lost its lease cannot record results. On start, jobs left running by
 * a crash are re-queued or failed according to their attempts, and their orphaned trainers killed.
 */
export const createOrchestrator = (deps: OrchestratorDeps) => {
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = deps.leaseMs ?? 30_000;
  const heartbeatMs = deps.heartbeatMs ?? 10_000;
  const graceMs = deps.graceMs ?? 10_000;
  const running = new Map<string, { cancel(): void; stopping: Promise<void> }>();
  /** Cancels that arrived after a job was claimed but before its trainer started. */
  const cancelBeforeStart = new Set<string>();
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let shuttingDown = false;

  /** UPDATE … WHERE id AND leaseToken: false means the lease is gone and nothing was written. */
  const fenced = async (job: ClaimedJob, sets: string, params: unknown[] = []): Promise<boolean> =>
    (await deps.sql.query(`UPDATE "TrainingJob" SET ${sets} WHERE "id" = $1 AND "leaseToken" = $2 RETURNING "id"`, [job.id, job.leaseToken, ...params])).length === 1;

  const claim = async (): Promise<ClaimedJob | undefined> => {
    const [job] = await deps.sql.query<ClaimedJob>(
      `UPDATE "TrainingJob" SET "status" = 'running', "leaseOwner" = $1, "leaseToken" = $2,
         "leaseExpiresAt" = now() + make_interval(secs => $3::float8 / 1000), "startedAt" = now(), "finishedAt" = NULL,
         "attempt" = "attempt" + 1, "progress" = 0, "progressMessage" = NULL, "error" = NULL
       WHERE "id" = (SELECT "id" FROM "TrainingJob" WHERE "status" = 'queued' AND "notBefore" <= now()
                     ORDER BY "priority" DESC, "createdAt", "id" LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING "id", "name", "attempt", "maxAttempts", "trainer", "hyperparameters", "resources", "validation",
                 "targetModelName", "datasetSnapshotId", "parentVersionId", "leaseToken"`,
      [owner, randomUUID(), leaseMs],
    );
    return job;
  };

  const finish = async (job: ClaimedJob, outcome: ExecutionOutcome, dir: string | undefined, writer: MetricsWriter | undefined, checkpoints: string[]) => {
    const publishStatus = (status: string, error: string | null = null) => deps.bus.publish(job.id, { type: 'status', status, error });
    if (shuttingDown && outcome.kind === 'killed') {
      // Stopped by a graceful shutdown, not by the job: it runs again, without losing an attempt.
      await fenced(job, `"status" = 'queued', "attempt" = "attempt" - 1, "leaseToken" = NULL, "leaseOwner" = NULL`);
      return;
    }
    if (outcome.kind === 'killed' && outcome.reason === 'cancelled') {
      if (await fenced(job, `"status" = 'cancelled', "finishedAt" = now(), "leaseToken" = NULL`)) publishStatus('cancelled');
      return;
    }
    if (outcome.kind === 'exited' && outcome.exitCode === 0 && dir && writer) {
      if (!(await fenced(job, `"status" = 'validating', "exitCode" = 0`))) return;
      publishStatus('validating');
      const final = await deps.metrics.lastValues(job.id);
      const result = await completeJob(deps, { ...job, validation: job.validation ?? [] }, dir, final, checkpoints, (message) =>
        appendFileSync(join(dir, 'logs', 'events.log'), `warning: ${message}\n`),
      );
      const status = result.ok ? 'succeeded' : 'failed';
      const wrote = await fenced(
        job,
        `"status" = $3, "finishedAt" = now(), "progress" = CASE WHEN $3 = 'succeeded' THEN 1 ELSE "progress" END, "finalMetrics" = $4::jsonb,
         "validationReport" = $5::jsonb, "modelVersionId" = $6, "error" = $7, "leaseToken" = NULL`,
        [status, JSON.stringify(final), JSON.stringify(result.report), result.ok ? result.modelVersionId : null, result.ok ? null : result.error],
      );
      if (wrote) publishStatus(status, result.ok ? null : result.error);
      return;
    }
    const error =
      outcome.kind === 'spawn_failed'
        ? outcome.message
        : outcome.kind === 'killed' && outcome.reason === 'timeout'
          ? `timed out after ${job.resources.timeoutSeconds ?? '?'} s`
          : outcome.kind === 'killed'
            ? `killed by ${outcome.signal ?? 'a signal'}`
            : `trainer exited with code ${outcome.exitCode}`;
    const retry = outcome.kind !== 'spawn_failed' && job.attempt < job.maxAttempts;
    const wrote = retry
      ? await fenced(job, `"status" = 'queued', "error" = $3, "exitCode" = $4, "leaseToken" = NULL, "notBefore" = now() + make_interval(secs => $5::float8 / 1000)`, [
          error,
          outcome.kind === 'exited' ? outcome.exitCode : null,
          backoffMs(job.attempt),
        ])
      : await fenced(job, `"status" = 'failed', "error" = $3, "exitCode" = $4, "finishedAt" = now(), "leaseToken" = NULL`, [error, outcome.kind === 'exited' ? outcome.exitCode : null]);
    if (wrote) publishStatus(retry ? 'queued' : 'failed', error);
  };

  const run = async (job: ClaimedJob): Promise<void> => {
    deps.bus.publish(job.id, { type: 'status', status: 'running' });
    let lost = false;
    const checkpoints: string[] = [];
    let dir: string | undefined;
    let writer: MetricsWriter | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      const spec = job.trainer;
      const refusal = runRefusal(deps.commandTrainers ?? { shared: false, allowedCommands: [] }, spec);
      if (refusal) throw new Error(refusal);
      const launch = spec.kind === 'builtin' ? deps.catalog.launch(spec.name) : { command: spec.command, env: {} };
      dir = await deps.workspace.prepare({ ...job, trainer: spec });
      writer = await deps.metrics.writer(job.id);
      const events = join(dir, 'logs', 'events.log');
      let lastProgressWrite = 0;
      const metricWriter = writer;
      const execution = startLocalExecution({
        jobDir: dir,
        command: launch.command,
        ...(spec.kind === 'command' && spec.cwd ? { cwd: spec.cwd } : {}),
        env: trainerEnvironment({ source: deps.env, extra: deps.trainerEnvNames ?? [], runtime: launch.env, protocol: { TRAINYARD_JOB_DIR: dir } }),
        ...(job.resources.timeoutSeconds ? { timeoutMs: job.resources.timeoutSeconds * 1_000 } : {}),
        graceMs,
        onEvent(event) {
          if (event.type === 'metric') {
            metricWriter.append(event.name, event.step, event.value, event.time);
            deps.bus.publish(job.id, event);
          } else if (event.type === 'metrics') {
            for (const [name, step, value] of event.points) metricWriter.append(name, step, value);
            deps.bus.publish(job.id, { type: 'metrics', points: event.points });
          } else if (event.type === 'progress') {
            deps.bus.publish(job.id, event);
            if (Date.now() - lastProgressWrite > 250 || event.fraction === 1) {
              lastProgressWrite = Date.now();
              void fenced(job, `"progress" = $3, "progressMessage" = $4`, [event.fraction, event.message ?? null]).catch(() => undefined);
            }
          } else if (event.type === 'checkpoint' || event.type === 'artifact') {
            checkpoints.push(event.path);
          } else {
            appendFileSync(events, `${event.level}: ${event.message}\n`);
            deps.bus.publish(job.id, { type: 'log', stream: 'events', line: event.message });
          }
        },
        onBadEvent(line, error) {
          appendFileSync(events, `skipped malformed event (${error}): ${line}\n`);
        },
      });
      // Written whole or not at all: crash recovery reads it to find the trainer to kill.
      writeFileSync(join(dir, 'run.json.tmp'), JSON.stringify({ pid: execution.pid, attempt: job.attempt, owner }));
      renameSync(join(dir, 'run.json.tmp'), join(dir, 'run.json'));
      const stopping = execution.done.then(() => undefined);
      running.set(job.id, { cancel: execution.cancel, stopping });
      if (cancelBeforeStart.delete(job.id)) execution.cancel();
      heartbeat = setInterval(() => {
        fenced(job, `"leaseExpiresAt" = now() + make_interval(secs => $3::float8 / 1000)`, [leaseMs]).then((held) => {
          if (!held && !lost) {
            lost = true;
            deps.logger.error({ jobId: job.id }, 'lease lost; stopping the trainer without recording results');
            execution.cancel();
          }
        }, () => undefined);
      }, heartbeatMs);
      const outcome = await execution.done;
      clearInterval(heartbeat);
      const bad = execution.badEvents();
      if (bad.count > 0) {
        // Only the first lines were logged one by one; the count goes on the job.
        const summary = `${bad.count} malformed event line${bad.count === 1 ? '' : 's'} skipped`;
        appendFileSync(events, `${summary}${bad.last.length > 0 ? '; the last ones:' : ''}\n${bad.last.map((b) => `  (${b.error}): ${b.line}\n`).join('')}`);
        deps.logger.error({ jobId: job.id, malformedEventLines: bad.count }, 'trainer wrote malformed event lines');
        if (!lost) await fenced(job, `"progressMessage" = $3`, [summary]).catch(() => undefined);
      }
      await writer.flush();
      if (!lost) await finish(job, outcome, dir, writer, checkpoints);
      await writer.close();
    } catch (error) {
      clearInterval(heartbeat);
      await writer?.close().catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      deps.logger.error({ jobId: job.id, err: error }, 'job failed before or after its trainer ran');
      if (await fenced(job, `"status" = 'failed', "error" = $3, "finishedAt" = now(), "leaseToken" = NULL`, [message]).catch(() => false)) {
        deps.bus.publish(job.id, { type: 'status', status: 'failed', error: message });
      }
    } finally {
      running.delete(job.id);
      cancelBeforeStart.delete(job.id);
      schedule();
    }
  };

  const tick = async (): Promise<void> => {
    if (ticking || stopped) return;
    ticking = true;
    try {
      while (!stopped && running.size < deps.concurrency) {
        const job = await claim();
        if (!job) break;
        running.set(job.id, { cancel: () => void cancelBeforeStart.add(job.id), stopping: Promise.resolve() });
        void run(job);
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'scheduling failed');
    } finally {
      ticking = false;
    }
  };
  const schedule = (): void => void setImmediate(() => void tick());

  /** Jobs left running or validating by a crashed server, and trainers it left behind. */
  const reconcile = async (): Promise<void> => {
    const stale = await deps.sql.query<{ id: string; attempt: number; maxAttempts: number }>(
      `SELECT "id", "attempt", "maxAttempts" FROM "TrainingJob" WHERE "status" IN ('running', 'validating')`,
    );
    for (const job of stale) {
      try {
        const dir = deps.workspace.dirOf(job.id);
        const { pid } = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { pid?: number };
        // Only a process that really runs this job (its environment names the job dir) is killed.
        if (pid && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`TRAINYARD_JOB_DIR=${dir}\u0000`)) process.kill(-pid, 'SIGKILL');
      } catch {
        // No run file, or the process is gone: nothing to kill.
      }
      const requeue = job.attempt < job.maxAttempts;
      await deps.sql.query(
        `UPDATE "TrainingJob" SET "status" = $2, "error" = $3, "leaseToken" = NULL, "leaseOwner" = NULL,
           "finishedAt" = CASE WHEN $2 = 'failed' THEN now() ELSE NULL END, "notBefore" = now() WHERE "id" = $1`,
        [job.id, requeue ? 'queued' : 'failed', requeue ? 'interrupted by a server restart; re-queued' : 'interrupted by a server restart; no attempts left'],
      );
    }
    if (stale.length > 0) deps.logger.info({ jobs: stale.length }, 'reconciled jobs left running by a previous server');
  };

  const control: JobControl = {
    requestCancel(jobId) {
      const execution = running.get(jobId);
      execution?.cancel();
      return Boolean(execution);
    },
    poke: schedule,
  };

  return {
    control,
    owner,
    runningJobs: () => [...running.keys()],
    async start(): Promise<void> {
      await reconcile();
      stopped = false;
      timer = setInterval(() => void tick(), deps.pollMs ?? 500);
      timer.unref();
      schedule();
    },
    /** Stops scheduling; running trainers are stopped and their jobs re-queued without losing an attempt. */
    async stop(): Promise<void> {
      stopped = true;
      shuttingDown = true;
      clearInterval(timer);
      const pending = [...running.values()];
      for (const execution of pending) execution.cancel();
      await Promise.all(pending.map((execution) => execution.stopping));
      while (running.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
};

export type Orchestrator = ReturnType<typeof createOrchestrator>;
