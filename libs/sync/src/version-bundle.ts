import type { ArtifactService } from '@trainyard/artifacts';
import { BUNDLE_ARTIFACT_PAGE, type DatasetSnapshotManifest, type VersionBundle, type VersionRef } from '@trainyard/contracts';
import type { SqlQueryable } from '@trainyard/db';
import { bundledArtifacts, bundledVersion, type ModelRegistryService, type ModelVersionService } from '@trainyard/registry';

type Lineage = VersionBundle['lineage'];

/** A snapshot's manifest with its data blob's size: what is registered here once the blob is stored. */
export type SnapshotWithData = DatasetSnapshotManifest & { blobSize: number };

/**
 * This machine's dataset snapshots as sync needs them (datasets' snapshot service): the manifest
 * a pushed version carries (with its data blob's hash and size), and registering a pulled one
 * under its own id and hash — with a version, in its transaction, or alone.
 */
export interface LocalSnapshots {
  manifestOf(snapshotId: string): Promise<NonNullable<Lineage['datasetSnapshot']> | null>;
  /** The content hash of the snapshot with this id here, or null. */
  hashOf(snapshotId: string): Promise<string | null>;
  /** Same id and hash already here: `created` false; same id, other hash: CONFLICT. */
  importSnapshot(tx: SqlQueryable, snapshot: SnapshotWithData, provenance: unknown): Promise<{ created: boolean }>;
  importAlone(snapshot: SnapshotWithData, provenance: unknown): Promise<{ created: boolean }>;
}

/**
 * How a version was made, as its bundle carries it, each part read by the context that owns it:
 * the dataset snapshot's manifest (libs/datasets, `snapshots.manifestOf`) and the job's
 * configuration (libs/training, `jobs.configurationOf`). A port, wired in apps/server: sync does
 * not depend on those libs for two reads (docs/architecture.md, "Dependency direction").
 */
export interface VersionLineage {
  snapshots: LocalSnapshots;
  jobs: { configurationOf(jobId: string): Promise<NonNullable<Lineage['trainingJob']> | null> };
}

export interface VersionBundleDeps {
  models: Pick<ModelRegistryService, 'get'>;
  versions: Pick<ModelVersionService, 'get'>;
  artifacts: Pick<ArtifactService, 'pageOfVersion'>;
  lineage: VersionLineage;
  /** How this machine names itself as a version's origin. */
  origin: string;
}

/**
 * A version's artifact records as its bundle lists them, read 10 000 a query and mapped page by
 * page: a version of 100 000 is held once, as bundle records, not also as rows and outputs
 * (issue #24: the pushing laptop's memory).
 */
const bundledArtifactsOf = async (artifacts: VersionBundleDeps['artifacts'], versionId: string): Promise<VersionBundle['artifacts']> => {
  const all: VersionBundle['artifacts'] = [];
  for (;;) {
    const { items, total } = await artifacts.pageOfVersion(versionId, all.length, BUNDLE_ARTIFACT_PAGE);
    for (const record of bundledArtifacts(items)) all.push(record);
    if (items.length === 0 || all.length >= total) return all;
  }
};

/** Everything about a local version a shared server needs, except the bytes of its blobs. */
export const buildVersionBundle = async (deps: VersionBundleDeps, model: string, ref: VersionRef): Promise<{ bundle: VersionBundle; versionId: string }> => {
  const version = await deps.versions.get(model, ref);
  const record = await deps.models.get(model);
  const [artifacts, datasetSnapshot, trainingJob] = await Promise.all([
    bundledArtifactsOf(deps.artifacts, version.id),
    version.datasetSnapshotId ? deps.lineage.snapshots.manifestOf(version.datasetSnapshotId) : null,
    version.trainingJobId ? deps.lineage.jobs.configurationOf(version.trainingJobId) : null,
  ]);
  const bundle: VersionBundle = {
    ...bundledVersion(record, version, []),
    artifacts,
    lineage: { datasetSnapshot, trainingJob, parentVersion: version.parentVersion },
    origin: { registry: deps.origin, model: version.model, version: version.version },
  };
  return { bundle, versionId: version.id };
};
