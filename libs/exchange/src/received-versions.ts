import type { ArtifactService, IndexedBlobStore } from '@trainyard/artifacts';
import {
  type BlobBatchLimits,
  BUNDLE_ARTIFACT_PAGE,
  type DatasetDataState,
  MAX_BUNDLE_ARTIFACTS,
  type VersionBundle,
  type VersionRef,
} from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import {
  bundledArtifacts,
  bundledVersion,
  importBundledVersion,
  type ModelRegistryService,
  type ModelVersionService,
  type VersionFile,
} from '@trainyard/registry';
import { assertSnapshotBlobSize } from './received-snapshots';
import type { ReceivedSnapshots } from './received-snapshots.port';
import type { StagedArtifacts } from './staged-artifacts';

/**
 * What a shared server records on a received version about its snapshot's data (in its
 * `provenance.dataset`): sent and registered here, or withheld — by the pusher (`--no-dataset`,
 * or an older pusher) or by this server (TRAINYARD_SYNC_ACCEPT_DATASETS=off).
 */
export interface ReceivedDatasetRecord {
  snapshotId: string;
  data: DatasetDataState;
  withheldBy: 'pusher' | 'server' | null;
}

type Visit = (records: VersionBundle['artifacts']) => Promise<void>;

/**
 * Versions crossing a shared server: a pushed bundle registered exactly once per idempotency
 * key (`ReceivedPush`), and a stored version described for a puller. Models and versions are the
 * model registry's, artifact records the artifacts lib's; this module keeps only the received-push record.
 */
export const createReceivedVersions = (deps: {
  database: Database;
  artifacts: Pick<ArtifactService, 'pageOfVersion' | 'insertForVersion'>;
  staged: StagedArtifacts;
  models: ModelRegistryService;
  versions: ModelVersionService;
  /** Blobs of `hashes` this server does not hold (verified) yet. */
  missingBlobs(hashes: readonly string[]): Promise<string[]>;
  /** This server's public URL: the origin a described version names. */
  serverUrl: () => string;
  /** What a puller may read in batches (`POST /blob-batches/read`). */
  blobBatches?: BlobBatchLimits;
  snapshots: ReceivedSnapshots;
  /** Whether this server takes dataset snapshots' data (TRAINYARD_SYNC_ACCEPT_DATASETS). */
  acceptDatasets: boolean;
  blobs: Pick<IndexedBlobStore, 'sizes'>;
}) => {
  const { prisma } = deps.database;

  /**
   * Visits a bundle's artifact records a page at a time: those it carries, or (a version of more
   * than 20 000) the pages its push staged, read one at a time so the server never holds 100 000
   * records at once (through `queryable` inside the registering transaction).
   */
  const recordsOf = async (idempotencyKey: string, bundle: VersionBundle): Promise<(visit: Visit, queryable?: SqlQueryable) => Promise<void>> => {
    if (bundle.artifactCount === undefined || bundle.artifactCount === bundle.artifacts.length) return (visit) => visit(bundle.artifacts);
    if (bundle.artifacts.length > 0) {
      throw new DomainError('INVALID_ARGUMENT', `A bundle carries all its version's artifacts or none (${bundle.artifacts.length} of ${bundle.artifactCount})`);
    }
    const pages = await deps.staged.pagesOf(idempotencyKey, bundle.artifactCount);
    return async (visit, queryable = deps.database.sql) => {
      for (const page of pages) await visit(await deps.staged.page(queryable, idempotencyKey, page));
    };
  };

  /** The version an earlier push with this key created, if any. */
  const receivedBefore = async (idempotencyKey: string): Promise<{ model: string; version: number; created: false } | undefined> => {
    const received = await prisma.receivedPush.findUnique({ where: { idempotencyKey } });
    if (!received) return undefined;
    const [version] = await deps.versions.numbersOf([received.versionId]);
    return version ? { model: version.model, version: version.version, created: false } : undefined;
  };

  return {
    /** Forgets the push receipts of a version being deleted here, in its transaction: a later push of the same version registers it again. */
    async forgetVersion(tx: SqlQueryable, versionId: string): Promise<void> {
      await tx.query(`DELETE FROM "ReceivedPush" WHERE "versionId" = $1`, [versionId]);
    },

    /**
     * Registers a pushed version. Every blob must already be here (verified on upload); the
     * version, its artifacts and the idempotency record are written in one transaction, so a
     * repeated or concurrent push with the same key returns the first version and creates nothing.
     */
    async receiveVersion(idempotencyKey: string, bundle: VersionBundle, actor: string): Promise<{ model: string; version: number; created: boolean }> {
      const before = await receivedBefore(idempotencyKey);
      if (before) {
        await deps.staged.forget(deps.database.sql, idempotencyKey);
        return before;
      }
      const eachPage = await recordsOf(idempotencyKey, bundle);
      const snapshot = bundle.lineage.datasetSnapshot;
      const sent = snapshot && bundle.datasetData === 'included' && snapshot.blobSize !== undefined ? { ...snapshot, blobSize: snapshot.blobSize } : null;
      // Data this server does not take is not registered; its blob, if sent anyway, is collected by GC.
      const kept = sent && deps.acceptDatasets ? sent : null;
      const dataset: ReceivedDatasetRecord | null = snapshot
        ? { snapshotId: snapshot.id, data: kept ? 'included' : 'withheld', withheldBy: kept ? null : sent ? 'server' : 'pusher' }
        : null;
      // Blobs checked page by page; the files a model check needs kept as name, type, hash and size.
      const absent = kept ? await deps.missingBlobs([kept.blobSha256]) : [];
      const files: VersionFile[] = [];
      await eachPage(async (records) => {
        absent.push(...(await deps.missingBlobs(records.map((record) => record.sha256))));
        for (const { name, type, sha256, size } of records) files.push({ name, type, sha256, size });
      });
      if (absent.length > 0) {
        const missing = [...new Set(absent)];
        const named = `${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`;
        throw new DomainError('FAILED_PRECONDITION', `Upload these blobs first: ${named}`, { missing });
      }
      if (kept) await assertSnapshotBlobSize(deps.blobs, kept);
      try {
        const created = await importBundledVersion(deps, { ...bundle, artifacts: files }, actor, {
          provenance: { pushedFrom: bundle.origin, lineage: bundle.lineage, validation: bundle.version.validation ?? null, dataset },
          ...(kept ? { datasetSnapshotId: kept.id } : {}),
          async inTransaction(tx, versionId) {
            await tx.query(`INSERT INTO "ReceivedPush" ("idempotencyKey", "versionId") VALUES ($1, $2)`, [idempotencyKey, versionId]);
            await eachPage((records) => deps.artifacts.insertForVersion(tx, versionId, records), tx);
            await deps.staged.forget(tx, idempotencyKey);
            if (kept) await deps.snapshots.importSnapshot(tx, kept, { pushedFrom: bundle.origin });
          },
        });
        return { model: created.model, version: created.version, created: true };
      } catch (error) {
        // A concurrent push with the same key won the race: its version is the answer.
        const winner = await receivedBefore(idempotencyKey);
        if (winner) return winner;
        throw error;
      }
    },

    /**
     * What a puller needs: the bundle, with blob hashes to download. A version of up to
     * MAX_BUNDLE_ARTIFACTS lists them all, as older servers did; a larger one is described only to a
     * puller that pages (`paged`: the first BUNDLE_ARTIFACT_PAGE, and `artifactCount`), since an
     * older puller would register the first page as the whole version.
     */
    async describeVersion(model: string, ref: VersionRef, paged = false): Promise<VersionBundle & { blobBatches?: BlobBatchLimits }> {
      const version = await deps.versions.get(model, ref);
      const record = await deps.models.get(model);
      const { items, total } = await deps.artifacts.pageOfVersion(version.id, 0, paged ? BUNDLE_ARTIFACT_PAGE : MAX_BUNDLE_ARTIFACTS);
      if (total > MAX_BUNDLE_ARTIFACTS && !paged) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `Version ${version.version} of ${model} holds ${total} artifacts: pull it with a Trainyard that pages them`,
          {
            artifactCount: total,
            paged: 'required',
          },
        );
      }
      const provenance = (version.provenance ?? {}) as { lineage?: VersionBundle['lineage'] };
      const lineage = provenance.lineage ?? { datasetSnapshot: null, trainingJob: null, parentVersion: version.parentVersion };
      // The version's snapshot is held here (its data came with it, or it was trained here), or its
      // data was withheld when it was pushed and the same snapshot — same id and content hash —
      // was pushed alone since (push-dataset): either way a pull brings it. The version's record
      // keeps what its own push did.
      const named = lineage.datasetSnapshot;
      const snapshotId = version.datasetSnapshotId ?? named?.id;
      const here = snapshotId ? await deps.snapshots.manifestOf(snapshotId) : null;
      const held = version.datasetSnapshotId || here?.blobSha256 === named?.blobSha256 ? here : null;
      const datasetSnapshot = held ?? lineage.datasetSnapshot;
      return {
        ...bundledVersion(record, version, items),
        artifactCount: total,
        lineage: { ...lineage, datasetSnapshot },
        origin: { registry: deps.serverUrl(), model: version.model, version: version.version },
        ...(deps.blobBatches ? { blobBatches: { ...deps.blobBatches } } : {}),
        ...(datasetSnapshot ? { datasetData: held ? ('included' as const) : ('withheld' as const) } : {}),
      };
    },

    /** A page of a version's artifact records in the bundle's order (a paging puller's reads after `describeVersion`). */
    async versionArtifacts(model: string, version: number, offset: number, limit: number): Promise<{ artifacts: VersionBundle['artifacts'] }> {
      const found = await deps.versions.get(model, { version });
      return { artifacts: bundledArtifacts((await deps.artifacts.pageOfVersion(found.id, offset, limit)).items) };
    },

    /** Pages staged by pushes that never registered their version. */
    sweepStagedArtifacts: (olderThanMs: number): Promise<number> => deps.staged.sweep(olderThanMs),
  };
};
