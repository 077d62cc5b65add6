import type { OutboxEntryOutput, VersionRef } from '@trainyard/contracts';
import { DomainError, newId, notFound } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import type { PushProgress } from './push-transfer';
import type { RemoteRecord } from './remotes';
import type { VersionLinks } from './version-links';

/** An entry as callers see it: its contract is `outboxEntryOutput` in libs/contracts. */
export type { OutboxEntryOutput };
export type OutboxState = OutboxEntryOutput['state'];
export type OutboxDirection = OutboxEntryOutput['direction'];

/** An entry as the worker carries it out: what to move, where, and the progress saved by earlier attempts. */
export interface OutboxWork {
  id: string;
  direction: OutboxDirection;
  model: string;
  ref: VersionRef;
  /** A push's version number, resolved when it was queued. */
  localVersion: number | null;
  /** A push also sends the version's snapshot data (false: `--no-dataset`). */
  includeDataset: boolean;
  remote: RemoteRecord;
  progress: PushProgress;
}

const WITH_REMOTE_NAME = { remote: { select: { name: true } } } as const;

const toOutput = (row: {
  id: string;
  direction: string;
  modelName: string;
  versionRef: unknown;
  state: string;
  attempts: number;
  nextAttemptAt: Date;
  bytesTotal: bigint;
  bytesDone: bigint;
  localVersion: number | null;
  remoteVersion: number | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  remote: { name: string };
}): OutboxEntryOutput => ({
  id: row.id,
  remote: row.remote.name,
  direction: row.direction as OutboxDirection,
  model: row.modelName,
  ref: row.versionRef as VersionRef,
  state: row.state as OutboxState,
  attempts: row.attempts,
  nextAttemptAt: row.nextAttemptAt,
  bytesTotal: Number(row.bytesTotal),
  bytesDone: Number(row.bytesDone),
  localVersion: row.localVersion,
  remoteVersion: row.remoteVersion,
  error: row.error,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/**
 * The outbox (`SyncOutbox`): pushes and pulls waiting, running or finished, with their attempts,
 * backoff, byte counts and resumable progress. Every state change of an entry is here; the
 * worker decides when to make them.
 */
export const createOutbox = (database: Database, links: VersionLinks) => {
  const { prisma } = database;

  const get = async (id: string): Promise<OutboxEntryOutput> => {
    const row = await prisma.syncOutbox.findUnique({ where: { id }, include: WITH_REMOTE_NAME });
    if (!row) throw notFound('Sync entry', { id });
    return toOutput(row);
  };

  return {
    get,

    /** Newest first. */
    async list(limit: number): Promise<OutboxEntryOutput[]> {
      const rows = await prisma.syncOutbox.findMany({ orderBy: { createdAt: 'desc' }, take: limit, include: WITH_REMOTE_NAME });
      return rows.map(toOutput);
    },

    /**
     * The entry with this idempotency key: created if new; a failed or cancelled one is armed
     * again; a pending, running or done one is returned as it is. `queued` says whether the
     * worker has something new to do.
     */
    async enqueue(input: {
      key: string;
      remoteId: string;
      direction: OutboxDirection;
      model: string;
      ref: VersionRef;
      localVersion: number | null;
      includeDataset: boolean;
    }): Promise<{ entry: OutboxEntryOutput; queued: boolean }> {
      const open = await prisma.syncOutbox.findUnique({ where: { idempotencyKey: input.key }, include: WITH_REMOTE_NAME });
      if (open) {
        if (open.state !== 'failed' && open.state !== 'cancelled') return { entry: toOutput(open), queued: false };
        await prisma.syncOutbox.update({
          where: { id: open.id },
          data: { state: 'pending', nextAttemptAt: new Date(), error: null, includeDataset: input.includeDataset },
        });
        return { entry: await get(open.id), queued: true };
      }
      const id = newId();
      await prisma.syncOutbox.create({
        data: {
          id,
          remoteId: input.remoteId,
          direction: input.direction,
          modelName: input.model,
          versionRef: input.ref,
          idempotencyKey: input.key,
          localVersion: input.localVersion,
          includeDataset: input.includeDataset,
        },
      });
      return { entry: await get(id), queued: true };
    },

    /** A failed or cancelled entry, due again now. */
    async retry(id: string): Promise<OutboxEntryOutput> {
      const current = await get(id);
      if (current.state !== 'failed' && current.state !== 'cancelled')
        throw new DomainError('FAILED_PRECONDITION', `A ${current.state} sync entry cannot be retried`);
      await prisma.syncOutbox.update({ where: { id }, data: { state: 'pending', nextAttemptAt: new Date(), error: null } });
      return get(id);
    },

    /** Only a pending entry: a running one is mid-transfer. */
    async cancel(id: string): Promise<OutboxEntryOutput> {
      const updated = await prisma.syncOutbox.updateMany({ where: { id, state: 'pending' }, data: { state: 'cancelled' } });
      if (updated.count === 0)
        throw new DomainError('FAILED_PRECONDITION', `Only a pending sync entry can be cancelled (this one is ${(await get(id)).state})`);
      return get(id);
    },

    // The worker's side.

    /** Entries left `running` by a crash are due again, from their saved progress. */
    async requeueInterrupted(): Promise<void> {
      await prisma.syncOutbox.updateMany({ where: { state: 'running' }, data: { state: 'pending', nextAttemptAt: new Date() } });
    },

    /** The oldest pending entry whose time has come, marked running with one more attempt; undefined when none is due. */
    async claimNextDue(): Promise<string | undefined> {
      const due = await prisma.syncOutbox.findFirst({ where: { state: 'pending', nextAttemptAt: { lte: new Date() } }, orderBy: { createdAt: 'asc' } });
      if (!due) return undefined;
      await prisma.syncOutbox.update({ where: { id: due.id }, data: { state: 'running', attempts: { increment: 1 } } });
      return due.id;
    },

    /** The claimed entry's work. */
    async load(id: string): Promise<OutboxWork> {
      const row = await prisma.syncOutbox.findUniqueOrThrow({ where: { id }, include: { remote: true } });
      return {
        id,
        direction: row.direction as OutboxDirection,
        model: row.modelName,
        ref: row.versionRef as VersionRef,
        localVersion: row.localVersion,
        includeDataset: row.includeDataset,
        remote: { id: row.remote.id, name: row.remote.name, url: row.remote.url },
        progress: (row.progress ?? {}) as PushProgress,
      };
    },

    /** Every attempt counts its bytes from zero (what is already on the remote is counted again). */
    async resetBytesDone(id: string): Promise<void> {
      await prisma.syncOutbox.update({ where: { id }, data: { bytesDone: 0n } });
    },

    /** Adds transferred bytes; sets the total and the resumable progress when given. */
    async recordProgress(id: string, update: { bytes: number; bytesTotal?: number; progress?: PushProgress }): Promise<void> {
      await prisma.syncOutbox.update({
        where: { id },
        data: {
          bytesDone: { increment: BigInt(update.bytes) },
          ...(update.bytesTotal !== undefined ? { bytesTotal: BigInt(update.bytesTotal) } : {}),
          // A snapshot: the live object keeps changing while the write is queued.
          ...(update.progress !== undefined ? { progress: JSON.parse(JSON.stringify(update.progress)) as object } : {}),
        },
      });
    },

    /** A push registered on the remote: the link and `done` in one transaction. */
    async finishPush(work: OutboxWork, localVersionId: string, result: { model: string; version: number }): Promise<void> {
      await prisma.$transaction([
        links.recordPush({ remoteId: work.remote.id, localVersionId, remoteModel: result.model, remoteVersion: result.version }),
        prisma.syncOutbox.update({ where: { id: work.id }, data: { state: 'done', remoteVersion: result.version, error: null, progress: {} } }),
      ]);
    },

    /** A pull registered here (its link was written with the version). */
    async finishPull(id: string, result: { localVersion: number; remoteVersion: number }): Promise<void> {
      await prisma.syncOutbox.update({
        where: { id },
        data: { state: 'done', localVersion: result.localVersion, remoteVersion: result.remoteVersion, error: null },
      });
    },

    /** How many attempts the entry has had, the one that just ran included. */
    async attempts(id: string): Promise<number> {
      return (await prisma.syncOutbox.findUniqueOrThrow({ where: { id }, select: { attempts: true } })).attempts;
    },

    /** A failed attempt: `failed` for good, or `pending` again once `retryInMs` has passed; `message` is shown as the entry's error. */
    async failAttempt(id: string, outcome: { state: 'failed' | 'pending'; retryInMs: number; message: string }): Promise<void> {
      await prisma.syncOutbox.update({
        where: { id },
        data: { state: outcome.state, error: outcome.message, nextAttemptAt: new Date(Date.now() + outcome.retryInMs) },
      });
    },
  };
};

export type Outbox = ReturnType<typeof createOutbox>;
