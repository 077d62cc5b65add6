import type { ArtifactService } from '@trainyard/artifacts';
import type { LineageGraphOutput } from '@trainyard/contracts';
import { DomainError, notFound } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';

/** The graph's shape is the API's (contracts' lineageGraphOutput). */
export type LineageGraph = LineageGraphOutput;
export type LineageNodeKind = LineageGraph['nodes'][number]['kind'];

/**
 * Where the lineage's other nodes come from: each context that owns them answers for a list of
 * ids in one query. Jobs (training) and snapshots (datasets) sit above or beside the registry, so
 * they answer through these ports; their services implement them (`summariesOf`).
 */
export interface LineageSources {
  /** The registry's own tables (the recursive walk over versions). */
  sql: SqlQueryable;
  jobs: {
    summariesOf(ids: readonly string[]): Promise<Array<{ id: string; name: string; datasetSnapshotId: string | null }>>;
    /** Jobs that re-ran these versions' training (jobs.reproduce), with the version each reproduces. */
    reproductionsOf(versionIds: readonly string[]): Promise<Array<{ id: string; name: string; status: string; versionId: string }>>;
  };
  snapshots: { summariesOf(ids: readonly string[]): Promise<Array<{ id: string; name: string }>> };
  artifacts: Pick<ArtifactService, 'firstOfVersions'>;
}

/**
 * Artifact nodes a version shows: a version of 100 000 small files would make a graph no one can
 * read and an answer of tens of megabytes. The rest are one node, "… N more artifacts".
 */
export const LINEAGE_ARTIFACTS_PER_VERSION = 100;

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
 * artifacts. One query with two recursive CTEs, then one batched lookup per owning context
 * (jobs, snapshots, artifacts), whatever the depth.
 */
export const lineageGraph = async (sources: LineageSources, model: string, version?: number): Promise<LineageGraph> => {
  const db = sources.sql;
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
  // Jobs, snapshots and artifacts: one query each, by id list, asked of their owners.
  const [jobs, snapshots, { items: artifacts, counts }, reproductions] = await Promise.all([
    sources.jobs.summariesOf(jobIds),
    sources.snapshots.summariesOf(snapshotIds),
    sources.artifacts.firstOfVersions(versionIds, LINEAGE_ARTIFACTS_PER_VERSION),
    sources.jobs.reproductionsOf(versionIds),
  ]);

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
  // A reproduction: the job that re-ran a version's training, with its state (its report: jobs.reproduction).
  for (const r of reproductions) {
    graph.nodes.push({ id: r.id, kind: 'job', label: `${r.name} (${r.status})` });
    graph.edges.push({ from: r.versionId, to: r.id, kind: 'reproduced_by' });
  }
  for (const a of artifacts) {
    if (a.trainingJobId) graph.edges.push({ from: a.trainingJobId, to: a.id, kind: 'produced' });
    if (a.modelVersionId) graph.edges.push({ from: a.id, to: a.modelVersionId, kind: 'packaged_in' });
  }
  for (const [versionId, count] of counts) {
    if (count <= LINEAGE_ARTIFACTS_PER_VERSION) continue;
    const id = `${versionId}:more-artifacts`;
    graph.nodes.push({ id, kind: 'artifact', label: `… ${count - LINEAGE_ARTIFACTS_PER_VERSION} more artifacts` });
    graph.edges.push({ from: id, to: versionId, kind: 'packaged_in' });
  }
  return graph;
};
