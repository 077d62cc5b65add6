import { EventEmitter } from 'node:events';
import type { Logger } from '@trainyard/core';
import type { Outbox, OutboxEntryOutput, OutboxWork } from './outbox';
import { afterFailure, type Backoff } from './outbox-failure';
import { createProgressWriter, type ProgressUpdate } from './progress-writer';
import type { RemoteServer } from './remote-server.port';
import type { RemoteRecord } from './remotes';

/** Carries out one entry's transfer (push or pull) with the remote and records it done; throws to fail the attempt. */
export type OutboxTransfer = (work: OutboxWork, remote: RemoteServer, report: (bytes: number, update?: ProgressUpdate) => Promise<void>) => Promise<void>;

/**
 * The outbox worker: carries entries out one at a time, oldest due first, until none is due;
 * woken when an entry is queued and on a timer (for backoff). A failed attempt is retried with
 * backoff unless its error is permanent (outbox-failure.ts). Progress is saved as it happens
 * (progress-writer.ts) and published to listeners (the UI, `trainyard push`).
 */
export const createOutboxWorker = (deps: {
  outbox: Outbox;
  /** A client for the entry's remote (fails when its token is gone or its address is unsafe). */
  connect: (remote: RemoteRecord) => Promise<RemoteServer>;
  transfer: OutboxTransfer;
  backoff: Backoff;
  pollMs: number;
  logger?: Pick<Logger, 'error'>;
}) => {
  const { outbox } = deps;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let wakeRequested = false;

  const publish = async (id: string): Promise<void> => {
    events.emit('progress', await outbox.get(id));
  };

  const carryOut = async (id: string): Promise<void> => {
    const work = await outbox.load(id);
    const remote = await deps.connect(work.remote);
    const writer = createProgressWriter(
      (update) => outbox.recordProgress(id, update),
      () => publish(id),
    );
    try {
      await deps.transfer(work, remote, writer.add);
    } finally {
      await writer.flush();
    }
  };

  const failAttempt = async (id: string, error: unknown): Promise<void> => {
    const outcome = afterFailure(error, await outbox.attempts(id), deps.backoff);
    await outbox.failAttempt(id, outcome);
    if (outcome.state === 'pending') deps.logger?.error({ id, err: error, retryInMs: outcome.retryInMs }, 'sync attempt failed; will retry');
  };

  /** Runs due entries until none is due. */
  const drain = async (): Promise<void> => {
    while (!stopped) {
      wakeRequested = false;
      const id = await outbox.claimNextDue();
      if (!id) {
        if (wakeRequested) continue;
        return;
      }
      await publish(id);
      try {
        await carryOut(id);
      } catch (error) {
        await failAttempt(id, error).catch(() => undefined);
      }
      await publish(id).catch(() => undefined);
    }
  };

  const wake = (): void => {
    wakeRequested = true;
    if (stopped || running) return;
    running = drain()
      .catch((err: unknown) => deps.logger?.error({ err }, 'sync worker failed'))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    wake,

    /** False until started, and after stop: a shared server never starts one (it is the other end). */
    get started(): boolean {
      return !stopped;
    },

    onProgress(listener: (entry: OutboxEntryOutput) => void): () => void {
      events.on('progress', listener);
      return () => events.off('progress', listener);
    },

    /** Entries left `running` by a crash are due again, from their saved progress. */
    async start(): Promise<void> {
      await outbox.requeueInterrupted();
      stopped = false;
      timer = setInterval(wake, deps.pollMs);
      timer.unref();
      wake();
    },

    /** A transfer in flight is not waited for beyond a moment: it resumes from its saved parts at the next start. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
};

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
