import { DomainError, notFound } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';

export type LineageNodeKind = 'snapshot' | 'job' | 'artifact' | 'version';

export interface LineageGraph {
  nodes: Array<{ id: string; kind: LineageNodeKind; label: string }>;
  edges: Array<{ from: string; to: string; kind: 'trained_on' | 'produced' | 'packaged_in' | 'fine_tuned_into' }>;
}

interface VersionRow {
  id: string;
  version: number;
  model: string;
  parentVersionId: string | null;
  trainingJobId: string | null;
  datasetSnapshotId: string | null;
}

/**
 * The lineage of a model (or one version): every version reachable by following parent links
 * up and child links down, across models, with each version's data snapshot, training job and
 * artifacts. Two recursive CTEs and three lookups, whatever the depth.
 */
export const lineageGraph = async (db: SqlQueryable, model: string, version?: number): Promise<LineageGraph> => {
  const versions = await db.query<VersionRow>(
    `WITH RECURSIVE
       starts AS (SELECT v."id" FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId"
                  WHERE m."name" = $1 AND ($2::int IS NULL OR v."version" = $2)),
       up AS (SELECT v."id", v."parentVersionId" FROM "ModelVersion" v WHERE v."id" IN (SELECT "id" FROM starts)
              UNION SELECT p."id", p."parentVersionId" FROM "ModelVersion" p JOIN up ON p."id" = up."parentVersionId"),
       down AS (SELECT "id" FROM starts
                UNION SELECT c."id" FROM "ModelVersion" c JOIN down ON c."parentVersionId" = down."id")
     SELECT v."id", v."version", m."name" AS "model", v."parentVersionId", v."trainingJobId", v."datasetSnapshotId"
     FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId"
     WHERE v."id" IN (SELECT "id" FROM up UNION SELECT "id" FROM down)`,
    [model, version ?? null],
  );
  if (versions.length === 0) {
    const [exists] = await db.query(`SELECT 1 FROM "ModelRegistry" WHERE "name" = $1`, [model]);
    if (!exists) throw notFound(`Model ${model}`, { model });
    if (version) throw new DomainError('NOT_FOUND', `Model ${model} has no version ${version}`, { model, version });
    return { nodes: [], edges: [] };
  }
  const versionIds = versions.map((v) => v.id);
  const jobIds = [...new Set(versions.flatMap((v) => (v.trainingJobId ? [v.trainingJobId] : [])))];
  const snapshotIds = [...new Set(versions.flatMap((v) => (v.datasetSnapshotId ? [v.datasetSnapshotId] : [])))];
  // Jobs, snapshots and artifacts in one round trip.
  const related = await db.query<{
    kind: 'job' | 'snapshot' | 'artifact';
    id: string;
    name: string;
    type: string | null;
    versionId: string | null;
    jobId: string | null;
  }>(
    `SELECT 'job' AS "kind", "id", "name", NULL AS "type", NULL::uuid AS "versionId", "datasetSnapshotId" AS "jobId" FROM "TrainingJob" WHERE "id" = ANY($1::uuid[])
     UNION ALL SELECT 'snapshot', "id", "name", NULL, NULL, NULL FROM "DatasetSnapshot" WHERE "id" = ANY($2::uuid[])
     UNION ALL SELECT 'artifact', "id", "name", "type", "modelVersionId", "trainingJobId" FROM "ModelArtifact" WHERE "modelVersionId" = ANY($3::uuid[])`,
    [jobIds, snapshotIds, versionIds],
  );
  const jobs = related.filter((r) => r.kind === 'job').map((r) => ({ id: r.id, name: r.name, datasetSnapshotId: r.jobId }));
  const snapshots = related.filter((r) => r.kind === 'snapshot');
  const artifacts = related
    .filter((r) => r.kind === 'artifact')
    .map((r) => ({ id: r.id, name: r.name, type: r.type ?? '', modelVersionId: r.versionId, trainingJobId: r.jobId }));

  const graph: LineageGraph = { nodes: [], edges: [] };
  for (const s of snapshots) graph.nodes.push({ id: s.id, kind: 'snapshot', label: s.name });
  for (const j of jobs) graph.nodes.push({ id: j.id, kind: 'job', label: j.name });
  for (const v of versions) graph.nodes.push({ id: v.id, kind: 'version', label: `${v.model}@${v.version}` });
  for (const a of artifacts) graph.nodes.push({ id: a.id, kind: 'artifact', label: `${a.type}: ${a.name}` });
  for (const v of versions) {
    if (v.trainingJobId) graph.edges.push({ from: v.trainingJobId, to: v.id, kind: 'produced' });
    if (v.datasetSnapshotId && !v.trainingJobId) graph.edges.push({ from: v.datasetSnapshotId, to: v.id, kind: 'trained_on' });
    if (v.parentVersionId) graph.edges.push({ from: v.parentVersionId, to: v.id, kind: 'fine_tuned_into' });
  }
  for (const j of jobs)
    if (j.datasetSnapshotId && snapshotIds.includes(j.datasetSnapshotId)) graph.edges.push({ from: j.datasetSnapshotId, to: j.id, kind: 'trained_on' });
  for (const a of artifacts) {
    if (a.trainingJobId) graph.edges.push({ from: a.trainingJobId, to: a.id, kind: 'produced' });
    if (a.modelVersionId) graph.edges.push({ from: a.id, to: a.modelVersionId, kind: 'packaged_in' });
  }
  return graph;
};
