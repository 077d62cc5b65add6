import type { VersionBundle } from '@trainyard/contracts';
import { isDomainError } from '@trainyard/core';
import type { ModelRegistryService } from './model-registry.service';
import type { ModelVersionService, VersionExtras, VersionFile } from './model-version.service';
import type { ModelOutput, VersionOutput } from './registry-records';

/** An artifact record as a bundle needs it (libs/artifacts' ArtifactOutput fits). */
export interface BundleArtifactSource {
  name: string;
  type: string;
  mediaType: string;
  sha256: string;
  size: number | bigint;
  metadata: unknown;
}

/** Artifact records as a version bundle lists them (also a page of them, `sync.versionArtifacts`). */
export const bundledArtifacts = (artifacts: readonly BundleArtifactSource[]): VersionBundle['artifacts'] =>
  artifacts.map((a) => ({
    name: a.name,
    type: a.type as VersionBundle['artifacts'][number]['type'],
    mediaType: a.mediaType,
    sha256: a.sha256,
    size: Number(a.size),
    metadata: a.metadata as VersionBundle['artifacts'][number]['metadata'],
  }));

/**
 * A model, one of its versions and the version's artifacts as a version bundle's `model`,
 * `version` and `artifacts` parts: the same whether a laptop pushes the version or a shared server
 * describes it for a pull. (The lineage comes from the contexts that made the version.)
 */
export const bundledVersion = (
  model: ModelOutput,
  version: VersionOutput,
  artifacts: readonly BundleArtifactSource[],
): Pick<VersionBundle, 'model' | 'version' | 'artifacts'> => ({
  model: { name: model.name, description: model.description, tags: model.tags, metadata: model.metadata as VersionBundle['model']['metadata'] },
  version: {
    version: version.version,
    description: version.description,
    metrics: version.metrics,
    tags: version.tags,
    validation: version.validation ?? null,
  },
  artifacts: bundledArtifacts(artifacts),
});

/**
 * Registers a version made elsewhere (pushed to this server, or pulled from a shared server) from a
 * bundle's model and version parts: the model first unless it exists (checked by a read; a
 * concurrent registration of it is fine too), then the version with `extras.provenance`, its
 * files checked first (ModelFileCheck), and `extras.datasetSnapshotId` when its snapshot is registered here too. What other
 * contexts keep about the version — its artifact records, the sync link — is written by
 * `extras.inTransaction` in the version's transaction, so a failure creates none of it.
 */
export const importBundledVersion = async (
  registry: { models: ModelRegistryService; versions: ModelVersionService },
  bundle: Pick<VersionBundle, 'model' | 'version'> & { artifacts: readonly VersionFile[] },
  actor: string,
  extras: VersionExtras & { datasetSnapshotId?: string },
): Promise<VersionOutput> => {
  const { model, version } = bundle;
  const { datasetSnapshotId, ...versionExtras } = extras;
  // Most pushes and pulls are to a model that exists: a read, rather than a write transaction that fails.
  if (!(await registry.models.exists(model.name))) {
    await registry.models
      .register({ name: model.name, description: model.description, tags: model.tags, metadata: model.metadata }, actor)
      .catch((error: unknown) => {
        // Registered meanwhile by a concurrent push or pull of the same model: fine.
        if (!(isDomainError(error) && error.code === 'CONFLICT')) throw error;
      });
  }
  return registry.versions.create(
    {
      model: model.name,
      description: version.description,
      metrics: version.metrics,
      tags: version.tags,
      artifactIds: [],
      gate: [],
      // Set when the snapshot's data came along and is registered here (in `inTransaction`).
      ...(datasetSnapshotId ? { datasetSnapshotId } : {}),
    },
    actor,
    // Checked like a version made here: a broken model is refused before anything is written.
    { ...versionExtras, modelFiles: bundle.artifacts },
  );
};
