import type { VersionBundle } from '@trainyard/contracts';
import { isDomainError, newId } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import type { ModelRegistryService } from '@trainyard/registry';

/** Registers the bundle's model here unless it exists (a concurrent registration is fine too). */
export const ensureModel = async (database: Database, models: ModelRegistryService, model: VersionBundle['model'], actor: string): Promise<void> => {
  if (await database.prisma.modelRegistry.findUnique({ where: { name: model.name }, select: { id: true } })) return;
  await models.register({ name: model.name, description: model.description, tags: model.tags, metadata: model.metadata }, actor).catch((error: unknown) => {
    if (!(isDomainError(error) && error.code === 'CONFLICT')) throw error;
  });
};

/** The bundle's artifacts as records of a version being created (inside its transaction). */
export const insertBundleArtifacts = async (tx: SqlQueryable, versionId: string, artifacts: VersionBundle['artifacts']): Promise<void> => {
  for (const artifact of artifacts) {
    await tx.query(
      `INSERT INTO "ModelArtifact" ("id", "sha256", "name", "type", "mediaType", "size", "metadata", "modelVersionId") VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`,
      [newId(), artifact.sha256, artifact.name, artifact.type, artifact.mediaType, artifact.size, JSON.stringify(artifact.metadata), versionId],
    );
  }
};
