import type { ModelOutput, VersionOutput } from '@trainyard/contracts';
import { newId } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';

export type RegistryEventType =
  | 'model.registered'
  | 'model.updated'
  | 'model.archived'
  | 'model.tags_changed'
  | 'version.created'
  | 'version.tags_changed'
  | 'version.deleted'
  | 'alias.moved'
  | 'alias.removed'
  | 'active.changed';

/** Every state change is recorded in the same transaction as the change itself. */
export const appendEvent = async (tx: SqlQueryable, modelId: string, type: RegistryEventType, actor: string, data: Record<string, unknown>): Promise<void> => {
  await tx.query(`INSERT INTO "ModelEvent" ("id", "modelId", "type", "actor", "data") VALUES ($1, $2, $3, $4, $5::jsonb)`, [
    newId(),
    modelId,
    type,
    actor,
    JSON.stringify(data),
  ]);
};

/** A model and a version as the API answers them: contracts' modelOutput and versionOutput. */
export type { ModelOutput, VersionOutput };

export const MODEL_COLUMNS = `m."id", m."name", m."description", m."tags", m."metadata", m."active", m."archivedAt",
  p."name" AS "parentModel", m."latestVersion", av."version" AS "activeVersion", m."createdAt", m."updatedAt"`;
export const MODEL_FROM = `"ModelRegistry" m
  LEFT JOIN "ModelRegistry" p ON p."id" = m."parentId"
  LEFT JOIN "ModelVersion" av ON av."id" = m."activeVersionId"`;

// A version's artifactIds are asked of the artifacts context: not in VERSION_SELECT (the artifacts' table is theirs).
export const VERSION_SELECT = `SELECT v."id", m."name" AS "model", v."version", v."status", v."description", v."metrics", v."validation",
    v."tags", v."trainingJobId", v."datasetSnapshotId", v."provenance", v."createdAt",
    (m."activeVersionId" = v."id") IS TRUE AS "active",
    array(SELECT a."alias" FROM "ModelAlias" a WHERE a."versionId" = v."id" ORDER BY a."alias") AS "aliases",
    CASE WHEN pv."id" IS NULL THEN NULL ELSE json_build_object('model', pm."name", 'version', pv."version") END AS "parentVersion"
  FROM "ModelVersion" v
  JOIN "ModelRegistry" m ON m."id" = v."modelId"
  LEFT JOIN "ModelVersion" pv ON pv."id" = v."parentVersionId"
  LEFT JOIN "ModelRegistry" pm ON pm."id" = pv."modelId"`;
