import type { VersionBundle, VersionRef } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';
import type { ModelRegistryService, ModelVersionService } from '@trainyard/registry';

type ModelRecord = Awaited<ReturnType<ModelRegistryService['get']>>;
type VersionRecord = Awaited<ReturnType<ModelVersionService['get']>>;
interface ArtifactRow {
  name: string;
  type: string;
  mediaType: string;
  sha256: string;
  size: bigint | number;
  metadata: unknown;
}

/** The model, version and artifact parts of a bundle: the same whether a laptop pushes it or a registry describes it for a pull. */
export const bundledVersion = (
  record: ModelRecord,
  version: VersionRecord,
  artifacts: readonly ArtifactRow[],
): Pick<VersionBundle, 'model' | 'version' | 'artifacts'> => ({
  model: { name: record.name, description: record.description, tags: record.tags, metadata: record.metadata as VersionBundle['model']['metadata'] },
  version: {
    version: version.version,
    description: version.description,
    metrics: version.metrics,
    tags: version.tags,
    validation: version.validation ?? null,
  },
  artifacts: artifacts.map((a) => ({
    name: a.name,
    type: a.type as VersionBundle['artifacts'][number]['type'],
    mediaType: a.mediaType,
    sha256: a.sha256,
    size: Number(a.size),
    metadata: a.metadata as VersionBundle['artifacts'][number]['metadata'],
  })),
});

/** Everything about a local version a registry needs, except the bytes of its blobs. */
export const buildVersionBundle = async (
  deps: { database: Database; models: ModelRegistryService; versions: ModelVersionService; origin: string },
  model: string,
  ref: VersionRef,
): Promise<{ bundle: VersionBundle; versionId: string }> => {
  const { prisma } = deps.database;
  const version = await deps.versions.get(model, ref);
  const record = await deps.models.get(model);
  const [artifacts, snapshot, job] = await Promise.all([
    prisma.modelArtifact.findMany({ where: { modelVersionId: version.id }, orderBy: { name: 'asc' } }),
    version.datasetSnapshotId ? prisma.datasetSnapshot.findUnique({ where: { id: version.datasetSnapshotId } }) : null,
    version.trainingJobId ? prisma.trainingJob.findUnique({ where: { id: version.trainingJobId } }) : null,
  ]);
  const bundle: VersionBundle = {
    ...bundledVersion(record, version, artifacts),
    lineage: {
      datasetSnapshot: snapshot
        ? {
            id: snapshot.id,
            name: snapshot.name,
            blobSha256: snapshot.blobSha256,
            totalCount: snapshot.totalCount,
            trainCount: snapshot.trainCount,
            validationCount: snapshot.validationCount,
            filter: snapshot.filter,
            seed: snapshot.seed,
            validationFraction: snapshot.validationFraction,
            createdAt: snapshot.createdAt.toISOString(),
          }
        : null,
      trainingJob: job ? { id: job.id, name: job.name, trainer: job.trainer, hyperparameters: job.hyperparameters } : null,
      parentVersion: version.parentVersion,
    },
    origin: { registry: deps.origin, model: version.model, version: version.version },
  };
  return { bundle, versionId: version.id };
};
