import type { ArtifactService, IndexedBlobStore } from '@trainyard/artifacts';
import type { VersionRef } from '@trainyard/contracts';
import { DomainError, type Logger, newId } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';
import { pullDataset, pushDataset } from './dataset-transfers';
import { createOutbox, type OutboxDirection, type OutboxEntryOutput } from './outbox';
import { createOutboxWorker, type OutboxTransfer } from './outbox-worker';
import { pullVersion } from './pull-transfer';
import { pushVersion } from './push-transfer';
import type { HostResolver } from './remote-address';
import type { RemoteServerFactory, RemoteSecrets } from './remote-server.port';
import { createRemotes, type RemoteOutput } from './remotes';
import type { VersionLineage } from './version-bundle';
import { createVersionLinks } from './version-links';

export type { OutboxEntryOutput, OutboxState } from './outbox';
export type { RemoteOutput } from './remotes';

export interface SyncOptions {
  database: Database;
  blobs: IndexedBlobStore;
  models: ModelRegistryService;
  versions: ModelVersionService;
  /** A pushed version's artifacts are listed, a pulled one's recorded, by the artifacts lib. */
  artifacts: Pick<ArtifactService, 'pageOfVersion' | 'insertForVersion'>;
  /** The snapshot manifest and job configuration a pushed version carries (datasets' and training's services). */
  lineage: VersionLineage;
  secrets: RemoteSecrets;
  connect: RemoteServerFactory;
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
 * The local side of sync: remotes (remotes.ts), and an outbox of pushes and pulls (outbox.ts)
 * that survives restarts and network loss, carried out by a worker (outbox-worker.ts) through
 * the push and pull transfers (push-transfer.ts, pull-transfer.ts). Transient failures are
 * retried with backoff; progress (bytes, upload sessions, completed parts) is saved as it
 * happens, so an interrupted transfer resumes from its last completed part.
 */
export const createSyncService = (options: SyncOptions) => {
  const links = createVersionLinks(options.database);
  const remotes = createRemotes(options);
  const outbox = createOutbox(options.database, links);

  const transfer: OutboxTransfer = async (work, remote, report) => {
    if (work.direction === 'push') {
      // A push was resolved to a version number when it was queued.
      const ref: VersionRef = work.localVersion ? { version: work.localVersion } : work.ref;
      const { versionId, result } = await pushVersion(
        options,
        { model: work.model, ref, saved: work.progress, includeDataset: work.includeDataset },
        remote,
        report,
      );
      await outbox.finishPush(work, versionId, result);
    } else {
      const result = await pullVersion(
        {
          ...options,
          links,
          remote,
          remoteRow: work.remote,
          snapshots: options.lineage.snapshots,
          report: (bytes, total) => report(bytes, total !== undefined ? { bytesTotal: total } : {}),
        },
        work.model,
        work.ref,
        `sync:${work.remote.name}`,
      );
      await outbox.finishPull(work.id, result);
    }
  };

  const worker = createOutboxWorker({
    outbox,
    connect: remotes.connect,
    transfer,
    backoff: { baseMs: options.baseBackoffMs ?? 1_000, maxMs: options.maxBackoffMs ?? 5 * 60_000 },
    pollMs: options.pollMs ?? 1_000,
    ...(options.logger ? { logger: options.logger } : {}),
  });

  /**
   * A shared server is the other end of sync: an entry queued there would never run, and a
   * transfer run at once there would let an API token make the server fetch from, or send its
   * data to, any URL a remote names.
   */
  const assertSyncsHere = (what: string): void => {
    if (!worker.started) throw new DomainError('FAILED_PRECONDITION', `This server does not ${what} (shared server mode); run it on a local Trainyard`);
  };

  const enqueue = async (direction: OutboxDirection, remoteName: string, model: string, ref: VersionRef, includeDataset = true): Promise<OutboxEntryOutput> => {
    assertSyncsHere(direction);
    const remote = await remotes.byName(remoteName);
    let localVersion: number | null = null;
    let key: string;
    if (direction === 'push') {
      // Resolved now: pushing `champion` means the version it points at today. Asking again
      // for the same version re-arms a failed or cancelled push; a done one stays done (with or
      // without its dataset as first asked: the data can follow alone, `push-dataset`).
      const version = await options.versions.get(model, ref);
      localVersion = version.version;
      key = `push:${remote.id}:${version.id}`;
    } else {
      key = `pull:${remote.id}:${model}:${JSON.stringify(ref)}:${newId()}`;
    }
    const { entry, queued } = await outbox.enqueue({ key, remoteId: remote.id, direction, model, ref, localVersion, includeDataset });
    if (queued) worker.wake();
    return entry;
  };

  return {
    addRemote: (input: { name: string; url: string; token: string }): Promise<RemoteOutput> => remotes.add(input),
    removeRemote: (name: string): Promise<void> => remotes.remove(name),
    listRemotes: (): Promise<RemoteOutput[]> => remotes.list(),

    /** `includeDataset` false (`--no-dataset`): the snapshot's manifest goes, its data does not. */
    push: (remote: string, model: string, ref: VersionRef, options: { includeDataset?: boolean } = {}) =>
      enqueue('push', remote, model, ref, options.includeDataset ?? true),
    pull: (remote: string, model: string, ref: VersionRef) => enqueue('pull', remote, model, ref),
    get: (id: string): Promise<OutboxEntryOutput> => outbox.get(id),
    status: (limit: number): Promise<OutboxEntryOutput[]> => outbox.list(limit),

    async retry(id: string): Promise<OutboxEntryOutput> {
      const entry = await outbox.retry(id);
      worker.wake();
      return entry;
    },

    cancel: (id: string): Promise<OutboxEntryOutput> => outbox.cancel(id),

    /** A dataset snapshot alone to a remote (`trainyard push-dataset`), at once: its data if the remote lacks it, then its registration. */
    async pushDataset(remoteName: string, snapshotId: string) {
      assertSyncsHere('push-dataset');
      const remote = await remotes.connect(await remotes.byName(remoteName));
      return pushDataset({ blobs: options.blobs, snapshots: options.lineage.snapshots, origin: options.origin }, remote, snapshotId);
    },

    /** A dataset snapshot alone from a remote (`trainyard pull-dataset`), at once: verified, registered under the same id and hash. */
    async pullDataset(remoteName: string, snapshotId: string) {
      assertSyncsHere('pull-dataset');
      const row = await remotes.byName(remoteName);
      return pullDataset({ blobs: options.blobs, snapshots: options.lineage.snapshots }, await remotes.connect(row), row, snapshotId);
    },

    /** The snapshots a remote holds, newest first (its `datasets.list`). */
    async remoteSnapshots(remoteName: string, limit: number, cursor?: string) {
      assertSyncsHere('list remote datasets');
      const remote = await remotes.connect(await remotes.byName(remoteName));
      return remote.listSnapshots(limit, cursor);
    },

    /** Forgets the remote links of a local version being deleted, in its transaction (wired as the registry's `VersionUsers.forget`). */
    forgetVersion: (tx: SqlQueryable, versionId: string): Promise<void> => links.forgetVersion(tx, versionId),

    /** Live progress of every entry (for the UI and `trainyard push`). */
    onProgress: (listener: (entry: OutboxEntryOutput) => void): (() => void) => worker.onProgress(listener),

    /** Starts the worker: entries left `running` by a crash are due again, from their saved progress. */
    start: (): Promise<void> => worker.start(),

    /** A transfer in flight is not waited for beyond a moment: it resumes from its saved parts at the next start. */
    stop: (): Promise<void> => worker.stop(),
  };
};

export type SyncService = ReturnType<typeof createSyncService>;
