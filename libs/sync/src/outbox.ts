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

/** An entry's columns as `toOutput` reads them (byte counts as float8: exact far beyond any transfer). */
const OUTBOX_COLUMNS = `o."id", o."direction", o."modelName", o."versionRef", o."state", o."attempts", o."nextAttemptAt",
  o."bytesTotal"::float8 AS "bytesTotal", o."bytesDone"::float8 AS "bytesDone", o."localVersion", o."remoteVersion", o."error",
  o."createdAt", o."updatedAt", r."name" AS "remoteName"`;
type OutboxRow = Omit<Parameters<typeof toOutput>[0], 'remote' | 'bytesTotal' | 'bytesDone'> & { bytesTotal: number; bytesDone: number; remoteName: string };

const toOutput = (row: {
  id: string;
  direction: string;
  modelName: string;
  versionRef: unknown;
  state: string;
  attempts: number;
  nextAttemptAt: Date;
  bytesTotal: bigint | number;
  bytesDone: bigint | number;
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
  const { prisma, sql } = database;

  // The worker's reads and writes of one entry are plain SQL: each Prisma call cost 3–22 ms of
  // the event loop (its query compiler) against ~1 ms, and a pull makes a dozen (issue #24).
  const get = async (id: string): Promise<OutboxEntryOutput> => {
    const [row] = await sql.query<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM "SyncOutbox" o JOIN "SyncRemote" r ON r."id" = o."remoteId" WHERE o."id" = $1`, [
      id,
    ]);
    if (!row) throw notFound('Sync entry', { id });
    return toOutput({ ...row, remote: { name: row.remoteName } });
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

    /**
     * The oldest pending entry whose time has come, marked running with one more attempt and its
     * bytes counted from zero again (what is already on the remote is counted again); undefined
     * when none is due. One statement: the row is locked while it is picked.
     */
    async claimNextDue(): Promise<string | undefined> {
      const [claimed] = await sql.query<{ id: string }>(
        `UPDATE "SyncOutbox" SET "state" = 'running', "attempts" = "attempts" + 1, "bytesDone" = 0, "updatedAt" = now()
          WHERE "id" = (SELECT "id" FROM "SyncOutbox" WHERE "state" = 'pending' AND "nextAttemptAt" <= $1 ORDER BY "createdAt" LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING "id"`,
        // This process's clock, which wrote the backoff's "nextAttemptAt" (a PostgreSQL server's may differ).
        [new Date()],
      );
      return claimed?.id;
    },

    /** The claimed entry's work. */
    async load(id: string): Promise<OutboxWork> {
      const [row] = await sql.query<{
        direction: string;
        modelName: string;
        versionRef: VersionRef;
        localVersion: number | null;
        includeDataset: boolean;
        progress: PushProgress | null;
        remoteId: string;
        remoteName: string;
        remoteUrl: string;
      }>(
        `SELECT o."direction", o."modelName", o."versionRef", o."localVersion", o."includeDataset", o."progress",
                r."id" AS "remoteId", r."name" AS "remoteName", r."url" AS "remoteUrl"
           FROM "SyncOutbox" o JOIN "SyncRemote" r ON r."id" = o."remoteId" WHERE o."id" = $1`,
        [id],
      );
      if (!row) throw notFound('Sync entry', { id });
      return {
        id,
        direction: row.direction as OutboxDirection,
        model: row.modelName,
        ref: row.versionRef,
        localVersion: row.localVersion,
        includeDataset: row.includeDataset,
        remote: { id: row.remoteId, name: row.remoteName, url: row.remoteUrl },
        progress: row.progress ?? {},
      };
    },

    /** Adds transferred bytes; sets the total and the resumable progress when given. */
    async recordProgress(id: string, update: { bytes: number; bytesTotal?: number; progress?: PushProgress }): Promise<void> {
      await sql.query(
        `UPDATE "SyncOutbox" SET "bytesDone" = "bytesDone" + $2, "bytesTotal" = COALESCE($3, "bytesTotal"),
            "progress" = COALESCE($4::jsonb, "progress"), "updatedAt" = now() WHERE "id" = $1`,
        // A snapshot of the progress: the live object keeps changing while the write is queued.
        [id, update.bytes, update.bytesTotal ?? null, update.progress !== undefined ? JSON.stringify(update.progress) : null],
      );
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
      await sql.query(
        `UPDATE "SyncOutbox" SET "state" = 'done', "localVersion" = $2, "remoteVersion" = $3, "error" = NULL, "updatedAt" = now() WHERE "id" = $1`,
        [id, result.localVersion, result.remoteVersion],
      );
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
