import { EventEmitter } from 'node:events';
import type { BlobStore } from '@trainyard/artifacts';
import type { VersionRef } from '@trainyard/contracts';
import { DomainError, isDomainError, isRetryable, type Logger, newId, notFound } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import { pullVersion } from './pull-transfer';
import { type PushProgress, pushBlobs } from './push-transfer';
import { assertSafeRemoteUrl, type HostResolver, systemResolver } from './remote-address';
import type { RemoteRegistryFactory, RemoteSecrets } from './remote-registry.port';
import { buildVersionBundle } from './version-bundle';

export type OutboxState = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

export interface OutboxEntryOutput {
  id: string;
  remote: string;
  direction: 'push' | 'pull';
  model: string;
  ref: VersionRef;
  state: OutboxState;
  attempts: number;
  nextAttemptAt: Date;
  bytesTotal: number;
  bytesDone: number;
  localVersion: number | null;
  remoteVersion: number | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface RemoteOutput {
  id: string;
  name: string;
  url: string;
  createdAt: Date;
  /** Local version ↔ remote version, as numbered by each registry. */
  links: Array<{ model: string; localVersion: number; remoteVersion: number; direction: string }>;
}

const PROGRESS_FLUSH_MS = 250;

/**
 * A failure a retry cannot fix (a domain code ERROR_CODES marks not retryable): the entry fails
 * instead of being retried. Anything else — UNAVAILABLE, a dropped connection — is retried.
 */
const isPermanent = (error: unknown): boolean => isDomainError(error) && !isRetryable(error.code);

/** The registry refused a version because blobs it needs are gone (its `details.missing`). */
const isMissingBlobs = (error: unknown): boolean =>
  isDomainError(error) && error.code === 'FAILED_PRECONDITION' && Array.isArray(error.details['missing']) && error.details['missing'].length > 0;

export interface SyncOptions {
  database: Database;
  blobs: BlobStore;
  models: ModelRegistryService;
  versions: ModelVersionService;
  secrets: RemoteSecrets;
  connect: RemoteRegistryFactory;
  /** How this machine names itself as a version's origin. */
  origin: string;
  resolver?: HostResolver;
  /** Backoff after the n-th failed attempt: min(maxBackoffMs, baseBackoffMs × 2^(n-1)). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  pollMs?: number;
  logger?: Pick<Logger, 'error'>;
}

/**
 * The local side of sync: remotes, and an outbox of pushes and pulls that survives restarts
 * and network loss. A worker carries entries out one at a time, retrying transient failures
 * with backoff; progress (bytes, upload sessions, completed parts) is saved as it happens, so
 * an interrupted transfer resumes from its last completed part.
 */
export const createSyncService = (options: SyncOptions) => {
  const { prisma } = options.database;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const baseBackoffMs = options.baseBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let wakeRequested = false;

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
    direction: row.direction as 'push' | 'pull',
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

  const entry = async (id: string): Promise<OutboxEntryOutput> => {
    const row = await prisma.syncOutbox.findUnique({ where: { id }, include: { remote: { select: { name: true } } } });
    if (!row) throw notFound('Sync entry', { id });
    return toOutput(row);
  };

  const publish = async (id: string): Promise<void> => {
    events.emit('progress', await entry(id));
  };

  const remoteByName = async (name: string) => {
    const remote = await prisma.syncRemote.findUnique({ where: { name } });
    if (!remote) throw notFound(`Remote ${name}`, { remote: name });
    return remote;
  };

  const connectTo = async (remote: { id: string; name: string; url: string }) => {
    const token = await options.secrets.get(remote.id);
    if (!token) throw new DomainError('FAILED_PRECONDITION', `No token stored for remote ${remote.name}; add it again`);
    await assertSafeRemoteUrl(remote.url, options.resolver ?? systemResolver);
    return options.connect({ url: remote.url, token });
  };

  const enqueue = async (direction: 'push' | 'pull', remoteName: string, model: string, ref: VersionRef): Promise<OutboxEntryOutput> => {
    // A shared registry is the other end of sync; an entry queued there would never run.
    if (stopped)
      throw new DomainError('FAILED_PRECONDITION', `This server does not ${direction} (shared registry mode); run ${direction} on a local Trainyard`);
    const remote = await remoteByName(remoteName);
    let localVersion: number | null = null;
    let key: string;
    if (direction === 'push') {
      // Resolved now: pushing `champion` means the version it points at today.
      const version = await options.versions.get(model, ref);
      localVersion = version.version;
      key = `push:${remote.id}:${version.id}`;
    } else {
      key = `pull:${remote.id}:${model}:${JSON.stringify(ref)}:${newId()}`;
    }
    const open = await prisma.syncOutbox.findUnique({ where: { idempotencyKey: key }, include: { remote: { select: { name: true } } } });
    if (open) {
      // Asking again re-arms a failed or cancelled push; a done one stays done (nothing new is created).
      if (open.state === 'failed' || open.state === 'cancelled') {
        await prisma.syncOutbox.update({ where: { id: open.id }, data: { state: 'pending', nextAttemptAt: new Date(), error: null } });
        wake();
        return entry(open.id);
      }
      return toOutput(open);
    }
    const id = newId();
    await prisma.syncOutbox.create({
      data: { id, remoteId: remote.id, direction, modelName: model, versionRef: ref, idempotencyKey: key, localVersion },
    });
    wake();
    return entry(id);
  };

  /**
   * Progress is kept in memory and written at most every PROGRESS_FLUSH_MS (and at the end of
   * an attempt): one database write per part or per small blob would cost more than sending
   * it. A crash loses at most that much progress — those parts are simply sent again.
   */
  const progressWriter = (id: string) => {
    let delta = 0;
    let fields: { bytesTotal?: number; progress?: PushProgress } = {};
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      clearTimeout(timer);
      timer = undefined;
      const bytes = delta;
      const pending = fields;
      delta = 0;
      fields = {};
      writing = writing.then(async () => {
        await prisma.syncOutbox.update({
          where: { id },
          data: {
            bytesDone: { increment: BigInt(bytes) },
            ...(pending.bytesTotal !== undefined ? { bytesTotal: BigInt(pending.bytesTotal) } : {}),
            // A snapshot: the live object keeps changing while the write is queued.
            ...(pending.progress !== undefined ? { progress: JSON.parse(JSON.stringify(pending.progress)) as object } : {}),
          },
        });
        await publish(id);
      });
      return writing;
    };
    return {
      add(bytes: number, update: { bytesTotal?: number; progress?: PushProgress } = {}): Promise<void> {
        delta += bytes;
        fields = { ...fields, ...update };
        timer ??= setTimeout(() => void flush().catch(() => undefined), PROGRESS_FLUSH_MS);
        return Promise.resolve();
      },
      flush,
    };
  };

  const loadEntry = (id: string) => prisma.syncOutbox.findUniqueOrThrow({ where: { id }, include: { remote: true } });

  const carryOut = async (id: string): Promise<void> => {
    const row = await loadEntry(id);
    const remote = await connectTo(row.remote);
    const writer = progressWriter(id);
    const progress = writer.add;
    const ref = row.versionRef as VersionRef;
    await prisma.syncOutbox.update({ where: { id }, data: { bytesDone: 0n } });
    try {
      await transfer(row, remote, progress, ref);
    } finally {
      await writer.flush();
    }
  };

  const transfer = async (
    row: Awaited<ReturnType<typeof loadEntry>>,
    remote: Awaited<ReturnType<typeof connectTo>>,
    progress: (bytes: number, update?: { bytesTotal?: number; progress?: PushProgress }) => Promise<void>,
    ref: VersionRef,
  ): Promise<void> => {
    const id = row.id;
    if (row.direction === 'push') {
      const { bundle, versionId } = await buildVersionBundle({ ...options }, row.modelName, row.localVersion ? { version: row.localVersion } : ref);
      const saved = (row.progress ?? {}) as PushProgress;
      await progress(0, { bytesTotal: bundle.artifacts.reduce((sum, a) => sum + a.size, 0) });
      const context = { remote, blobs: options.blobs, progress: saved, report: (bytes: number, state: PushProgress) => progress(bytes, { progress: state }) };
      await pushBlobs(context, bundle);
      // Keyed by the version itself, not by the remote entry: the same version reaching the same
      // registry by any route (another remote name, a second outbox entry) registers once.
      const versionKey = `version:${versionId}`;
      const result = await remote.receiveVersion(versionKey, bundle).catch(async (error: unknown) => {
        // The registry may have collected blobs of a push that paused longer than its GC grace
        // period: negotiate again, send what is missing, and register once more.
        if (!isMissingBlobs(error)) throw error;
        await pushBlobs(context, bundle);
        return remote.receiveVersion(versionKey, bundle);
      });
      await prisma.$transaction([
        prisma.remoteVersionLink.upsert({
          where: { remoteId_localVersionId: { remoteId: row.remoteId, localVersionId: versionId } },
          create: {
            id: newId(),
            remoteId: row.remoteId,
            localVersionId: versionId,
            remoteModel: result.model,
            remoteVersion: result.version,
            direction: 'push',
          },
          update: {},
        }),
        prisma.syncOutbox.update({ where: { id }, data: { state: 'done', remoteVersion: result.version, error: null, progress: {} } }),
      ]);
    } else {
      const result = await pullVersion(
        {
          ...options,
          remote,
          remoteRow: row.remote,
          report: (bytes, total) => progress(bytes, total !== undefined ? { bytesTotal: total } : {}),
        },
        row.modelName,
        ref,
        `sync:${row.remote.name}`,
      );
      await prisma.syncOutbox.update({
        where: { id },
        data: { state: 'done', localVersion: result.localVersion, remoteVersion: result.remoteVersion, error: null },
      });
    }
  };

  const failAttempt = async (id: string, error: unknown): Promise<void> => {
    const row = await prisma.syncOutbox.findUniqueOrThrow({ where: { id } });
    const permanent = isPermanent(error);
    const message = error instanceof Error ? error.message : String(error);
    const delay = Math.min(maxBackoffMs, baseBackoffMs * 2 ** row.attempts);
    await prisma.syncOutbox.update({
      where: { id },
      data: { state: permanent ? 'failed' : 'pending', error: message.slice(0, 2_000), nextAttemptAt: new Date(Date.now() + delay) },
    });
    if (!permanent) options.logger?.error({ id, err: error, retryInMs: delay }, 'sync attempt failed; will retry');
  };

  /** Runs due entries until none is due. */
  const drain = async (): Promise<void> => {
    while (!stopped) {
      wakeRequested = false;
      const due = await prisma.syncOutbox.findFirst({ where: { state: 'pending', nextAttemptAt: { lte: new Date() } }, orderBy: { createdAt: 'asc' } });
      if (!due) {
        if (wakeRequested) continue;
        return;
      }
      await prisma.syncOutbox.update({ where: { id: due.id }, data: { state: 'running', attempts: { increment: 1 } } });
      await publish(due.id);
      try {
        await carryOut(due.id);
      } catch (error) {
        await failAttempt(due.id, error).catch(() => undefined);
      }
      await publish(due.id).catch(() => undefined);
    }
  };

  const wake = (): void => {
    wakeRequested = true;
    if (stopped || running) return;
    running = drain()
      .catch((err: unknown) => options.logger?.error({ err }, 'sync worker failed'))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    async addRemote(input: { name: string; url: string; token: string }): Promise<RemoteOutput> {
      const url = (await assertSafeRemoteUrl(input.url, options.resolver ?? systemResolver)).toString().replace(/\/+$/, '');
      const existing = await prisma.syncRemote.findUnique({ where: { name: input.name } });
      if (existing) throw new DomainError('CONFLICT', `A remote named ${input.name} already exists; remove it first`, { remote: input.name });
      const id = newId();
      await options.secrets.set(id, input.token);
      await prisma.syncRemote.create({ data: { id, name: input.name, url } });
      return (await this.listRemotes()).find((remote) => remote.id === id) as RemoteOutput;
    },

    async removeRemote(name: string): Promise<void> {
      const remote = await remoteByName(name);
      await prisma.syncRemote.delete({ where: { id: remote.id } });
      await options.secrets.delete(remote.id);
    },

    async listRemotes(): Promise<RemoteOutput[]> {
      const remotes = await prisma.syncRemote.findMany({ orderBy: { name: 'asc' }, include: { links: { orderBy: { createdAt: 'asc' } } } });
      const versionIds = remotes.flatMap((remote) => remote.links.map((link) => link.localVersionId));
      const versions = await prisma.modelVersion.findMany({ where: { id: { in: versionIds } }, include: { model: { select: { name: true } } } });
      const byId = new Map(versions.map((v) => [v.id, v]));
      return remotes.map((remote) => ({
        id: remote.id,
        name: remote.name,
        url: remote.url,
        createdAt: remote.createdAt,
        links: remote.links.flatMap((link) => {
          const local = byId.get(link.localVersionId);
          return local ? [{ model: local.model.name, localVersion: local.version, remoteVersion: link.remoteVersion, direction: link.direction }] : [];
        }),
      }));
    },

    push: (remote: string, model: string, ref: VersionRef) => enqueue('push', remote, model, ref),
    pull: (remote: string, model: string, ref: VersionRef) => enqueue('pull', remote, model, ref),
    get: entry,

    async status(limit: number): Promise<OutboxEntryOutput[]> {
      const rows = await prisma.syncOutbox.findMany({ orderBy: { createdAt: 'desc' }, take: limit, include: { remote: { select: { name: true } } } });
      return rows.map(toOutput);
    },

    async retry(id: string): Promise<OutboxEntryOutput> {
      const current = await entry(id);
      if (current.state !== 'failed' && current.state !== 'cancelled')
        throw new DomainError('FAILED_PRECONDITION', `A ${current.state} sync entry cannot be retried`);
      await prisma.syncOutbox.update({ where: { id }, data: { state: 'pending', nextAttemptAt: new Date(), error: null } });
      wake();
      return entry(id);
    },

    async cancel(id: string): Promise<OutboxEntryOutput> {
      const updated = await prisma.syncOutbox.updateMany({ where: { id, state: 'pending' }, data: { state: 'cancelled' } });
      if (updated.count === 0)
        throw new DomainError('FAILED_PRECONDITION', `Only a pending sync entry can be cancelled (this one is ${(await entry(id)).state})`);
      return entry(id);
    },

    /** Live progress of every entry (for the UI and `trainyard push`). */
    onProgress(listener: (entry: OutboxEntryOutput) => void): () => void {
      events.on('progress', listener);
      return () => events.off('progress', listener);
    },

    /** Starts the worker: entries left `running` by a crash are due again, from their saved progress. */
    async start(): Promise<void> {
      await prisma.syncOutbox.updateMany({ where: { state: 'running' }, data: { state: 'pending', nextAttemptAt: new Date() } });
      stopped = false;
      timer = setInterval(wake, options.pollMs ?? 1_000);
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

export type SyncService = ReturnType<typeof createSyncService>;
