import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { TrainerSpec } from '@trainyard/contracts';
import type { Logger } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';
import type { GateRule } from '@trainyard/registry';
import { checkpointPolicyOf, createCheckpointLedger } from './checkpoint-retention';
import { type CommandTrainerPolicy, runRefusal } from './command-trainer-policy';
import { type CompletionPorts, completeJob, type ReportedArtifact } from './job-completion';
import type { JobEventBus } from './job-event-bus';
import { failureLine, jobLogSize } from './job-logs';
import { type JobStatus, jobStatusMove } from './job-state';
import type { JobWorkspace } from './job-workspace';
import type { TrainerExecutor } from './executor.port';
import { createLocalExecutor, type ExecutionOutcome, type JobResources } from './local-executor';
import { hostProcessControl } from './process-control';
import type { ProcessControl } from './process-control.port';
import type { MetricsStore, MetricsWriter } from './metrics-store';
import type { TrainerCatalog } from './trainer-catalog';
import { trainerEnvironment } from './trainer-env';
import { captureTrainerIdentity } from './trainer-identity';
import type { JobControl } from './training-job.service';

export interface OrchestratorDeps extends CompletionPorts {
  /** The training context's own tables: claims, leases and fenced status moves. */
  sql: SqlQueryable;
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
  logger: Logger;
  concurrency: number;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  graceMs?: number;
  /** How often expired leases are looked for (default: the heartbeat interval). */
  sweepMs?: number;
  /**
   * Where trainers run (default: the local executor only). Claims and sweeps touch only jobs
   * of these kinds, so an orchestrator never handles jobs of an executor it does not have; a
   * takeover and a server stop do what the job's executor says (onTakeover, onShutdown).
   */
  executors?: readonly TrainerExecutor[];
  /** This machine's process handling (default: the platform's, process-control.ts): whether a holder on this host is gone, and the default local executor's. */
  processes?: ProcessControl;
}

interface ClaimedJob {
  id: string;
  name: string;
  attempt: number;
  maxAttempts: number;
  trainer: TrainerSpec;
  hyperparameters: Record<string, unknown>;
  resources: JobResources;
  /** Stored as given (see checkpoint-retention.ts). */
  checkpointPolicy: unknown;
  validation: GateRule[] | null;
  targetModelName: string | null;
  datasetSnapshotId: string | null;
  parentVersionId: string | null;
  leaseToken: string;
  /** Which executor runs it (the job's `executor` column). */
  executor: string;
  /** performance.now() just before the claim was sent: the lease surely holds until this + leaseMs. */
  claimedAt: number;
}

const backoffMs = (attempt: number): number => Math.min(1_000 * 2 ** (attempt - 1), 60_000);

/** Exit code 75 (EX_TEMPFAIL): the trainer asks to be run again — an attempt, without backoff. */
export const RETRY_ME_EXIT_CODE = 75;

/** The columns a worker needs to run a job: what a claim and a re-attaching takeover read. */
const CLAIMED_COLUMNS = `"id", "name", "attempt", "maxAttempts", "trainer", "hyperparameters", "resources", "checkpointPolicy", "validation",
  "targetModelName", "datasetSnapshotId", "parentVersionId", "leaseToken", "executor"`;

class LeaseLost extends Error {
  constructor(jobId: string) {
    super(`lease of job ${jobId} lost`);
  }
}

/**
 * Runs queued jobs: highest priority first, up to `concurrency` at once. Each running job holds
 * a lease (owner, token, expiry) renewed by heartbeat; every write about a job is fenced on its
 * token, so a worker that lost its lease cannot record results. At start and every sweepMs, jobs
 * whose holder is gone (expired lease, or a dead server on this host) are taken over, their
 * orphaned trainers on this machine killed, and re-queued or failed according to their attempts.
 */
export const createOrchestrator = (deps: OrchestratorDeps) => {
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = deps.leaseMs ?? 30_000;
  const heartbeatMs = deps.heartbeatMs ?? 10_000;
  const graceMs = deps.graceMs ?? 10_000;
  const sweepMs = deps.sweepMs ?? heartbeatMs;
  const processes = deps.processes ?? hostProcessControl;
  const executors = new Map((deps.executors ?? [createLocalExecutor(processes)]).map((executor) => [executor.kind, executor]));
  const executorKinds = [...executors.keys()];
  const executorOf = (kind: string): TrainerExecutor => {
    const executor = executors.get(kind);
    if (!executor) throw new Error(`no executor of kind ${kind} in this orchestrator`);
    return executor;
  };
  let sweeper: NodeJS.Timeout | undefined;
  const running = new Map<string, { executor: string; cancel(): void; detach?: () => void; stopping: Promise<void> }>();
  /** Reasons given with a cancel (jobs.cancel's `reason`), recorded as the cancelled job's error. */
  const cancelReasons = new Map<string, string>();
  /** Executors with room for another run: each runs up to its maxRunning (default: the orchestrator's concurrency). */
  const kindsWithRoom = (): string[] =>
    executorKinds.filter((kind) => {
      let count = 0;
      for (const entry of running.values()) if (entry.executor === kind) count += 1;
      return count < (executors.get(kind)?.maxRunning ?? deps.concurrency);
    });
  /** Cancels that arrived after a job was claimed but before its trainer started. */
  const cancelBeforeStart = new Set<string>();
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let shuttingDown = false;
  let frozen = false;

  /** UPDATE … WHERE id AND leaseToken: false means the lease is gone and nothing was written. */
  const fenced = async (job: ClaimedJob, sets: string, params: unknown[] = [], where = ''): Promise<boolean> =>
    (await deps.sql.query(`UPDATE "TrainingJob" SET ${sets} WHERE "id" = $1 AND "leaseToken" = $2${where} RETURNING "id"`, [job.id, job.leaseToken, ...params]))
      .length === 1;

  /**
   * `fenced`, moving the job to `to` through the transition table (jobStatusMove): false also
   * when the table forbids the move from the row's status, and then nothing is written either.
   */
  const fencedMove = async (job: ClaimedJob, to: JobStatus, sets: string, params: unknown[] = []): Promise<boolean> => {
    const move = jobStatusMove(to, 2 + params.length);
    return fenced(job, `${move.set}, ${sets}`, [...params, ...move.params], ` AND ${move.where}`);
  };

  const claim = async (kinds: readonly string[]): Promise<ClaimedJob | undefined> => {
    const claimedAt = performance.now();
    const move = jobStatusMove('running', 4);
    const [job] = await deps.sql.query<Omit<ClaimedJob, 'claimedAt'>>(
      `UPDATE "TrainingJob" SET ${move.set}, "leaseOwner" = $1, "leaseToken" = $2,
         "leaseExpiresAt" = now() + make_interval(secs => $3::float8 / 1000), "startedAt" = now(), "finishedAt" = NULL,
         "attempt" = "attempt" + 1, "progress" = 0, "progressMessage" = NULL, "error" = NULL
       WHERE "id" = (SELECT "id" FROM "TrainingJob" WHERE "status" = 'queued' AND "notBefore" <= now() AND "executor" = ANY($4::text[])
                     ORDER BY "priority" DESC, "createdAt", "id" LIMIT 1 FOR UPDATE SKIP LOCKED) AND ${move.where}
       RETURNING ${CLAIMED_COLUMNS}`,
      [owner, randomUUID(), leaseMs, kinds, ...move.params],
    );
    return job && { ...job, claimedAt };
  };

  /**
   * The completion ports with their records fenced too: a model or artifact is registered only
   * after a renewal that held, and the version is created in a transaction that locks the job
   * row under this lease's token (a takeover waits for it, or it creates nothing).
   */
  const fencedPorts = (job: ClaimedJob, assertHeld: () => Promise<void>): CompletionPorts => ({
    ...deps,
    models: {
      ...deps.models,
      register: async (...args) => {
        await assertHeld();
        return deps.models.register(...args);
      },
    },
    artifacts: {
      ...deps.artifacts,
      register: async (input) => {
        await assertHeld();
        return deps.artifacts.register(input);
      },
    },
    versions: {
      ...deps.versions,
      create: (input, actor, extras = {}) =>
        deps.versions.create(input, actor, {
          ...extras,
          inTransaction: async (tx, versionId) => {
            const held = await tx.query(`SELECT "id" FROM "TrainingJob" WHERE "id" = $1 AND "leaseToken" = $2 FOR UPDATE`, [job.id, job.leaseToken]);
            if (held.length !== 1) throw new LeaseLost(job.id);
            await extras.inTransaction?.(tx, versionId);
          },
        }),
    },
  });

  const finish = async (
    job: ClaimedJob,
    outcome: ExecutionOutcome,
    dir: string | undefined,
    writer: MetricsWriter | undefined,
    checkpoints: string[],
    assertHeld: () => Promise<void>,
    /** Size of stderr.log when this attempt started: its failure line is looked for after it. */
    stderrFrom = 0,
    reportedArtifacts: readonly ReportedArtifact[] = [],
  ) => {
    const publishStatus = (status: string, error: string | null = null) => deps.bus.publish(job.id, { type: 'status', status, error });
    if (outcome.kind === 'detached') {
      // The run goes on without us: the lease is let go at once, so whoever starts next re-attaches.
      await fenced(job, `"leaseExpiresAt" = now()`);
      return;
    }
    if (outcome.kind === 'requeue') {
      // Preempted, or its node failed: not the trainer's doing, so no attempt is used up.
      const wrote = await fencedMove(job, 'queued', `"attempt" = "attempt" - 1, "error" = $3, "leaseToken" = NULL, "leaseOwner" = NULL, "notBefore" = now()`, [
        outcome.message,
      ]);
      if (wrote) publishStatus('queued', outcome.message);
      return;
    }
    if (shuttingDown && outcome.kind === 'killed') {
      // Stopped by a graceful shutdown, not by the job: it runs again, without losing an attempt.
      await fencedMove(job, 'queued', `"attempt" = "attempt" - 1, "leaseToken" = NULL, "leaseOwner" = NULL`);
      return;
    }
    if (outcome.kind === 'killed' && outcome.reason === 'cancelled') {
      // Why it was cancelled, when its canceller said (a sweep's early stopping: `pruned`).
      const reason = cancelReasons.get(job.id) ?? null;
      cancelReasons.delete(job.id);
      if (await fencedMove(job, 'cancelled', `"finishedAt" = now(), "leaseToken" = NULL, "error" = $3`, [reason])) publishStatus('cancelled', reason);
      return;
    }
    if (outcome.kind === 'exited' && outcome.exitCode === 0 && dir && writer) {
      if (!(await fencedMove(job, 'validating', `"exitCode" = 0`))) return;
      publishStatus('validating');
      const final = await deps.metrics.lastValues(job.id);
      const result = await completeJob(
        fencedPorts(job, assertHeld),
        { ...job, validation: job.validation ?? [] },
        dir,
        final,
        checkpoints,
        (message) => appendFileSync(join(dir, 'logs', 'events.log'), `warning: ${message}\n`),
        reportedArtifacts,
        outcome.outputs,
      );
      const status = result.ok ? 'succeeded' : 'failed';
      const wrote = await fencedMove(
        job,
        status,
        `"finishedAt" = now(), "progress" = ${result.ok ? '1' : '"progress"'}, "finalMetrics" = $3::jsonb,
         "validationReport" = $4::jsonb, "modelVersionId" = $5, "error" = $6, "leaseToken" = NULL`,
        [JSON.stringify(final), JSON.stringify(result.report), result.ok ? result.modelVersionId : null, result.ok ? null : result.error],
      );
      if (wrote) publishStatus(status, result.ok ? null : result.error);
      return;
    }
    // The line of this attempt's stderr that says why (`ValueError: …`), so the reason travels with the status.
    const why = outcome.kind !== 'spawn_failed' && dir ? await failureLine(dir, stderrFrom).catch(() => undefined) : undefined;
    let error =
      outcome.kind === 'spawn_failed'
        ? outcome.message
        : outcome.kind === 'killed' && outcome.reason === 'timeout'
          ? `timed out after ${job.resources.timeoutSeconds ?? '?'} s`
          : outcome.kind === 'killed'
            ? `killed by ${outcome.signal ?? 'a signal'}`
            : `trainer exited with code ${outcome.exitCode}${why ? `: ${why}` : ''}`;
    const retry = outcome.kind !== 'spawn_failed' && job.attempt < job.maxAttempts;
    const retryMe = outcome.kind === 'exited' && outcome.exitCode === RETRY_ME_EXIT_CODE;
    if (retryMe) error = `${error} (the trainer asked to be run again)`;
    const wrote = retry
      ? await fencedMove(job, 'queued', `"error" = $3, "exitCode" = $4, "leaseToken" = NULL, "notBefore" = now() + make_interval(secs => $5::float8 / 1000)`, [
          error,
          outcome.kind === 'exited' ? outcome.exitCode : null,
          retryMe ? 0 : backoffMs(job.attempt),
        ])
      : await fencedMove(job, 'failed', `"error" = $3, "exitCode" = $4, "finishedAt" = now(), "leaseToken" = NULL`, [
          error,
          outcome.kind === 'exited' ? outcome.exitCode : null,
        ]);
    if (wrote) publishStatus(retry ? 'queued' : 'failed', error);
  };

  /** Runs a claimed job; `reattach`: follows the run an earlier holder started (a scheduler's job) instead. */
  const run = async (job: ClaimedJob, reattach = false): Promise<void> => {
    deps.bus.publish(job.id, { type: 'status', status: 'running' });
    let lost = false;
    let checkpoints: { paths(): string[] } = { paths: () => [] };
    const reportedArtifacts: ReportedArtifact[] = [];
    let dir: string | undefined;
    let writer: MetricsWriter | undefined;
    /** What losing the lease does to the run: the local executor's child is stopped; a scheduler's run is left to the new holder. */
    let stopOnLeaseLoss: (() => void) | undefined;
    /** Until when the lease is surely ours (monotonic clock): the send time of the last renewal that held, plus leaseMs. */
    let heldUntil = job.claimedAt + leaseMs;
    const holds = (): boolean => !lost && performance.now() < heldUntil - leaseMs / 10;
    const renew = async (): Promise<boolean> => {
      const sentAt = performance.now();
      const held = await fenced(job, `"leaseExpiresAt" = now() + make_interval(secs => $3::float8 / 1000)`, [leaseMs]);
      if (held) heldUntil = Math.max(heldUntil, sentAt + leaseMs);
      else if (!lost) {
        lost = true;
        deps.logger.error({ jobId: job.id }, 'lease lost; letting go of the run without recording results');
        stopOnLeaseLoss?.();
      }
      return held;
    };
    const assertHeld = async (): Promise<void> => {
      if (!(await renew()) || !holds()) throw new LeaseLost(job.id);
    };
    // Renewed from the claim on, through set-up and validation: the lease never lapses while this worker lives.
    const heartbeat = setInterval(() => void (frozen ? undefined : renew().catch(() => undefined)), heartbeatMs);
    try {
      const spec = job.trainer;
      const refusal = runRefusal(deps.commandTrainers ?? { shared: false, allowedCommands: [] }, spec, job.executor, job.resources);
      if (refusal) throw new Error(refusal);
      const launch = spec.kind === 'builtin' ? deps.catalog.launch(spec.name) : { command: spec.command, env: {} };
      dir = reattach ? deps.workspace.dirOf(job.id) : await deps.workspace.prepare({ ...job, trainer: spec });
      // What runs, recorded before it starts (a re-attached run keeps what its first holder recorded).
      if (!reattach) {
        const identity = await captureTrainerIdentity(spec, { catalog: deps.catalog });
        await fenced(job, `"trainerIdentity" = $3::jsonb`, [JSON.stringify(identity)]);
      }
      writer = await deps.metrics.writer(job.id);
      await assertHeld(); // set-up may have outlasted the lease: never start a trainer without it
      const events = join(dir, 'logs', 'events.log');
      // The job's checkpoint policy, applied as checkpoints are reported (older ones deleted at once).
      const policy = checkpointPolicyOf(job.checkpointPolicy);
      const warn = (message: string): void => appendFileSync(events, `warning: ${message}\n`);
      const ledger = createCheckpointLedger(dir, policy, warn);
      checkpoints = ledger;
      const bestMetric = policy.keepBest?.metric;
      /** The keepBest metric's latest value: a checkpoint reported after it is scored with it. */
      let bestMetricValue: number | undefined;
      // A re-attached run's stderr began before this worker: its whole log is this attempt's.
      const stderrFrom = reattach ? 0 : await jobLogSize(dir, 'stderr');
      let lastProgressWrite = 0;
      const metricWriter = writer;
      const executor = executorOf(job.executor);
      const execution = executor.start({
        jobDir: dir,
        command: launch.command,
        ...(spec.kind === 'command' && spec.cwd ? { cwd: spec.cwd } : {}),
        env: trainerEnvironment({
          source: deps.env,
          extra: deps.trainerEnvNames ?? [],
          runtime: launch.env,
          protocol: { TRAINYARD_JOB_DIR: dir, TRAINYARD_ATTEMPT: String(job.attempt) },
        }),
        job: { id: job.id, attempt: job.attempt, resources: job.resources },
        reattach,
        onSchedulerState(state) {
          void fenced(job, `"scheduler" = $3::jsonb`, [JSON.stringify(state)]).catch(() => undefined);
          // Watchers re-read the job on a status event: the scheduler's state is on it.
          deps.bus.publish(job.id, { type: 'status', status: 'running' });
        },
        ...(job.resources.timeoutSeconds ? { timeoutMs: job.resources.timeoutSeconds * 1_000 } : {}),
        graceMs,
        onEvent(event) {
          // Fenced like every write: no point is recorded once the lease may have passed to another orchestrator.
          if ((event.type === 'metric' || event.type === 'metrics') && !holds()) return;
          if (event.type === 'metric') {
            if (event.name === bestMetric) bestMetricValue = event.value;
            metricWriter.append(event.name, event.step, event.value, event.time);
            deps.bus.publish(job.id, event);
          } else if (event.type === 'metrics') {
            for (const [name, step, value] of event.points) {
              if (name === bestMetric) bestMetricValue = value;
              metricWriter.append(name, step, value);
            }
            deps.bus.publish(job.id, { type: 'metrics', points: event.points });
          } else if (event.type === 'progress') {
            deps.bus.publish(job.id, event);
            if (Date.now() - lastProgressWrite > 250 || event.fraction === 1) {
              lastProgressWrite = Date.now();
              void fenced(job, `"progress" = $3, "progressMessage" = $4`, [event.fraction, event.message ?? null]).catch(() => undefined);
            }
          } else if (event.type === 'checkpoint' || (event.type === 'artifact' && event.kind === 'checkpoint')) {
            try {
              ledger.record({
                path: event.path,
                ...(event.type === 'checkpoint' && event.step !== undefined ? { step: event.step } : {}),
                ...(bestMetricValue !== undefined ? { score: bestMetricValue } : {}),
              });
            } catch (error) {
              warn(`checkpoint ${event.path} could not be recorded: ${(error as Error).message}`);
            }
          } else if (event.type === 'artifact') {
            reportedArtifacts.push({ path: event.path, kind: event.kind });
          } else if (event.type === 'environment') {
            const packages = JSON.stringify(event.packages);
            void fenced(job, `"trainerIdentity" = COALESCE("trainerIdentity", '{}'::jsonb) || jsonb_build_object('packages', $3::jsonb)`, [packages]).catch(
              () => undefined,
            );
          } else {
            appendFileSync(events, `${event.level}: ${event.message}\n`);
            deps.bus.publish(job.id, { type: 'log', stream: 'events', line: event.message });
          }
        },
        onBadEvent(line, error) {
          appendFileSync(events, `skipped malformed event (${error}): ${line}\n`);
        },
        flushEvents: () => metricWriter.mark(),
        rewindEvents: (mark) => metricWriter.rewind(typeof mark === 'object' && mark !== null ? (mark as Record<string, number>) : {}),
      });
      // Written whole or not at all: crash recovery reads it to find the trainer to kill.
      writeFileSync(join(dir, 'run.json.tmp'), JSON.stringify({ pid: execution.pid, attempt: job.attempt, owner }));
      renameSync(join(dir, 'run.json.tmp'), join(dir, 'run.json'));
      const stopping = execution.done.then(() => undefined);
      running.set(job.id, { executor: job.executor, cancel: execution.cancel, ...(execution.detach ? { detach: execution.detach } : {}), stopping });
      if (cancelBeforeStart.delete(job.id)) execution.cancel();
      // Whoever took the lease over re-attached to a scheduler's run (onTakeover `reattach`): cancelling it here would
      // scancel the run the new holder follows, so this worker only stops following it.
      stopOnLeaseLoss = executor.onTakeover === 'reattach' && execution.detach ? execution.detach : execution.cancel;
      if (lost) stopOnLeaseLoss();
      const outcome = await execution.done;
      const bad = execution.badEvents();
      const nonFinite = execution.nonFiniteMetrics();
      const skipped: string[] = [];
      if (bad.count > 0) {
        // Only the first lines were logged one by one; the count goes on the job.
        const summary = `${bad.count} malformed event line${bad.count === 1 ? '' : 's'} skipped`;
        appendFileSync(events, `${summary}${bad.last.length > 0 ? '; the last ones:' : ''}\n${bad.last.map((b) => `  (${b.error}): ${b.line}\n`).join('')}`);
        deps.logger.error({ jobId: job.id, malformedEventLines: bad.count }, 'trainer wrote malformed event lines');
        skipped.push(summary);
      }
      if (nonFinite > 0) {
        const summary = `${nonFinite} non-finite metric value${nonFinite === 1 ? '' : 's'} (NaN/Infinity) skipped`;
        appendFileSync(events, `${summary}: JSON has no NaN or Infinity; send null or leave the point out (Python: json.dumps(..., allow_nan=False) raises)\n`);
        skipped.push(summary);
      }
      if (skipped.length > 0 && !lost) await fenced(job, `"progressMessage" = $3`, [skipped.join(', ')]).catch(() => undefined);
      // A fresh renewal decides: results are recorded only under a lease that surely still holds.
      if (!lost) await renew().catch(() => false);
      if (holds()) {
        await writer.flush();
        await finish(job, outcome, dir, writer, checkpoints.paths(), assertHeld, stderrFrom, reportedArtifacts);
      } else {
        writer.discard();
        deps.logger.error({ jobId: job.id }, 'lease lost or not renewable; the trainer exited and nothing was recorded');
      }
      await writer.close();
    } catch (error) {
      if (error instanceof LeaseLost || lost) {
        writer?.discard();
        deps.logger.error({ jobId: job.id }, 'lease lost; nothing recorded');
        return;
      }
      clearInterval(heartbeat);
      await writer?.close().catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      deps.logger.error({ jobId: job.id, err: error }, 'job failed before or after its trainer ran');
      if (await fencedMove(job, 'failed', `"error" = $3, "finishedAt" = now(), "leaseToken" = NULL`, [message]).catch(() => false)) {
        deps.bus.publish(job.id, { type: 'status', status: 'failed', error: message });
      }
    } finally {
      clearInterval(heartbeat);
      running.delete(job.id);
      cancelBeforeStart.delete(job.id);
      schedule();
    }
  };

  const tick = async (): Promise<void> => {
    if (ticking || stopped) return;
    ticking = true;
    try {
      for (let kinds = kindsWithRoom(); !stopped && kinds.length > 0; kinds = kindsWithRoom()) {
        const job = await claim(kinds);
        if (!job) break;
        running.set(job.id, { executor: job.executor, cancel: () => void cancelBeforeStart.add(job.id), stopping: Promise.resolve() });
        void run(job);
      }
    } catch (error) {
      deps.logger.error({ err: error }, 'scheduling failed');
    } finally {
      ticking = false;
    }
  };
  const schedule = (): void => void setImmediate(() => void tick());

  /** The holder was a server on this host with this data dir (its run.json names it) and its process is gone. */
  const holderGoneHere = (jobId: string, holder: string | null): boolean => {
    if (!holder || holder === owner) return false;
    const parts = holder.split(':'); // `${hostname}:${pid}:${random}`
    parts.pop();
    const pid = Number(parts.pop());
    if (parts.join(':') !== hostname() || !Number.isInteger(pid) || pid <= 0 || processes.isAlive(pid)) return false;
    try {
      return (JSON.parse(readFileSync(join(deps.workspace.dirOf(jobId), 'run.json'), 'utf8')) as { owner?: string }).owner === holder;
    } catch {
      return false;
    }
  };

  /**
   * Takes over running or validating jobs whose holder is gone: a lease that expired (any
   * holder, anywhere), or one held by a server on this host, with this data dir, whose process is
   * gone (a restarted server reclaims its own jobs at once instead of waiting for the expiry). A
   * valid lease of a live holder is never touched. The takeover is a compare-and-swap on the old
   * token, so of several orchestrators sweeping at once exactly one takes a job; then the
   * executor's rule applies (TrainerExecutor.onTakeover). Runs at start and every sweepMs: a job whose holder
   * died is reclaimed within leaseMs + sweepMs of the holder's last renewal.
   */
  const sweep = async (): Promise<void> => {
    const candidates = await deps.sql.query<{
      id: string;
      status: string;
      executor: string;
      leaseOwner: string | null;
      leaseToken: string | null;
      expired: boolean;
    }>(
      `SELECT "id", "status", "executor", "leaseOwner", "leaseToken", ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now()) AS "expired"
         FROM "TrainingJob" WHERE "status" IN ('running', 'validating') AND "executor" = ANY($1::text[])
          AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now() OR "leaseOwner" LIKE $2)`,
      [executorKinds, `${hostname()}:%`],
    );
    for (const candidate of candidates) {
      if (candidate.leaseOwner === owner && running.has(candidate.id)) continue; // ours: its heartbeat renews it
      const gone = !candidate.expired && holderGoneHere(candidate.id, candidate.leaseOwner);
      if (!candidate.expired && !gone) continue;
      const token = randomUUID();
      const claimedAt = performance.now();
      const [taken] = await deps.sql.query<Omit<ClaimedJob, 'claimedAt'>>(
        `UPDATE "TrainingJob" SET "leaseOwner" = $2, "leaseToken" = $3, "leaseExpiresAt" = now() + make_interval(secs => $4::float8 / 1000)
          WHERE "id" = $1 AND "status" IN ('running', 'validating') AND "leaseToken" IS NOT DISTINCT FROM $5
            AND ("leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now() OR $6::boolean)
          RETURNING ${CLAIMED_COLUMNS}`,
        [candidate.id, owner, token, leaseMs, candidate.leaseToken, gone],
      );
      if (!taken) continue; // renewed meanwhile, or another orchestrator took it first
      const executor = executorOf(candidate.executor);
      if (executor.onTakeover === 'reattach' && candidate.status === 'running') {
        // The run lives in a scheduler, not in the holder that died: follow it from here on.
        deps.logger.info({ jobId: candidate.id, previousHolder: candidate.leaseOwner }, 're-attached to a job whose lease holder is gone');
        running.set(taken.id, { executor: taken.executor, cancel: () => void cancelBeforeStart.add(taken.id), stopping: Promise.resolve() });
        void run({ ...taken, claimedAt }, true);
        continue;
      }
      await executor.stopOrphan(deps.workspace.dirOf(candidate.id));
      const requeue = taken.attempt < taken.maxAttempts;
      const why = gone ? 'interrupted by a server restart' : `lease expired (${candidate.leaseOwner ?? 'no holder'} stopped renewing it)`;
      const error = `${why}; ${requeue ? 're-queued' : 'no attempts left'}`;
      const move = jobStatusMove(requeue ? 'queued' : 'failed', 4);
      const [moved] = await deps.sql.query(
        `UPDATE "TrainingJob" SET ${move.set}, "error" = $3, "leaseToken" = NULL, "leaseOwner" = NULL, "leaseExpiresAt" = NULL,
           "finishedAt" = ${requeue ? 'NULL' : 'now()'}, "notBefore" = now() + make_interval(secs => $4::float8 / 1000)
         WHERE "id" = $1 AND "leaseToken" = $2 AND ${move.where} RETURNING "id"`,
        [candidate.id, token, error, requeue ? backoffMs(taken.attempt) : 0, ...move.params],
      );
      if (!moved) continue;
      deps.logger.info({ jobId: candidate.id, previousHolder: candidate.leaseOwner, requeue }, 'took over a job whose lease holder is gone');
      deps.bus.publish(candidate.id, { type: 'status', status: requeue ? 'queued' : 'failed', error });
    }
  };
  let sweeping = false;
  const sweepInBackground = (): void => {
    if (sweeping || stopped) return;
    sweeping = true;
    sweep()
      .then(schedule, (error: unknown) => deps.logger.error({ err: error }, 'lease sweep failed'))
      .finally(() => (sweeping = false));
  };

  const control: JobControl = {
    requestCancel(jobId, reason) {
      const execution = running.get(jobId);
      if (execution && reason !== undefined) cancelReasons.set(jobId, reason);
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
      frozen = false;
      await sweep();
      stopped = false;
      timer = setInterval(() => void tick(), deps.pollMs ?? 500);
      timer.unref();
      sweeper = setInterval(sweepInBackground, sweepMs);
      sweeper.unref();
      schedule();
    },
    /**
     * For tests: behaves as if this process froze (SIGSTOP, a long pause, cut off from the
     * database): scheduling, sweeps and heartbeats stop; leases and trainers are left as they are.
     */
    /** For tests: the frozen process wakes up; its heartbeats run again (and find out whether it still holds its leases). */
    thawForTests(): void {
      frozen = false;
    },
    freezeForTests(): void {
      stopped = true;
      frozen = true;
      clearInterval(timer);
      clearInterval(sweeper);
    },
    /**
     * Stops scheduling; running trainers are stopped and their jobs re-queued without losing an
     * attempt, except a scheduler's runs, which go on: their leases are let go for the next start to re-attach.
     */
    async stop(): Promise<void> {
      stopped = true;
      shuttingDown = true;
      clearInterval(timer);
      clearInterval(sweeper);
      const pending = [...running.values()];
      // A scheduler's runs go on without this server (onShutdown `detach`); its own children stop.
      for (const execution of pending) {
        if (execution.detach && executors.get(execution.executor)?.onShutdown === 'detach') execution.detach();
        else execution.cancel();
      }
      await Promise.all(pending.map((execution) => execution.stopping));
      while (running.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
};

export type Orchestrator = ReturnType<typeof createOrchestrator>;
