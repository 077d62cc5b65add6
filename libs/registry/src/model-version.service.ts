import type { ArtifactService } from '@trainyard/artifacts';
import type { CreateVersionInput, VersionRef } from '@trainyard/contracts';
import { DomainError, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import { lockModel } from './model-registry.service';
import { appendEvent, VERSION_SELECT, type VersionOutput } from './registry-records';
import { evaluateGate, type GateReport, type GateRule, type Metrics } from './validation-gate';
import { type VersionNumber, versionNumbers } from './version-numbers';

const gateFailed = (what: string, report: GateReport): DomainError =>
  new DomainError(
    'FAILED_PRECONDITION',
    `${what}: validation gate failed (${report.results
      .filter((r) => !r.passed)
      .map((r) => r.reason ?? `${r.rule.metric} ${r.observed} ${r.rule.op} ${r.threshold}`)
      .join('; ')})`,
    {
      validation: report,
    },
  );

/** Metrics of the versions currently holding the aliases the rules compare against. */
const baselines = async (tx: SqlQueryable, modelId: string, rules: readonly GateRule[]): Promise<Record<string, Metrics>> => {
  const aliases = [...new Set(rules.flatMap((rule) => ('relativeTo' in rule ? [rule.relativeTo.alias] : [])))];
  if (aliases.length === 0) return {};
  const rows = await tx.query<{ alias: string; metrics: Metrics }>(
    `SELECT a."alias", v."metrics" FROM "ModelAlias" a JOIN "ModelVersion" v ON v."id" = a."versionId" WHERE a."modelId" = $1 AND a."alias" = ANY($2::text[])`,
    [modelId, aliases],
  );
  return Object.fromEntries(rows.map((row) => [row.alias, row.metrics]));
};

/**
 * Why `ref` found nothing, in plain words: "Model X not found", "Model X has no active version",
 * "Model X has no version 7", "Model X has no alias champion", "Model X has no versions yet".
 */
export const versionNotFound = async (tx: SqlQueryable, model: string, ref: VersionRef): Promise<DomainError> => {
  const [exists] = await tx.query(`SELECT 1 FROM "ModelRegistry" WHERE "name" = $1`, [model]);
  if (!exists) return notFound(`Model ${model}`, { model });
  const details = { model, ...ref };
  if ('version' in ref) return new DomainError('NOT_FOUND', `Model ${model} has no version ${ref.version}`, details);
  if (ref.alias === 'active') return new DomainError('NOT_FOUND', `Model ${model} has no active version`, details);
  if (ref.alias === 'latest') return new DomainError('NOT_FOUND', `Model ${model} has no versions yet`, details);
  return new DomainError('NOT_FOUND', `Model ${model} has no alias ${ref.alias}`, details);
};

const versionId = async (tx: SqlQueryable, model: string, version: number): Promise<string> => {
  const [row] = await tx.query<{ id: string }>(
    `SELECT v."id" FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId" WHERE m."name" = $1 AND v."version" = $2`,
    [model, version],
  );
  if (!row) throw await versionNotFound(tx, model, { version });
  return row.id;
};

export interface VersionExtras {
  /** Where a version made elsewhere came from (pushed or pulled): stored with it. */
  provenance?: unknown;
  /** The files of a version whose artifact records `inTransaction` inserts (pushed or pulled): checked like linked ones. */
  modelFiles?: readonly VersionFile[];
  /** Resolves once `modelFiles`' blobs can be read (a pull's are still being made durable); a check that reads them waits for it. */
  filesReadable?: () => Promise<void>;
  /** Runs inside the creating transaction, after the insert: a failure creates nothing. */
  inTransaction?: (tx: SqlQueryable, versionId: string) => Promise<void>;
}

/** What versions need of the artifacts context: their artifacts' ids, and linking artifacts to a version being created. */
export type VersionArtifacts = Pick<ArtifactService, 'idsOfVersions' | 'linkToVersion' | 'deleteOfVersion'>;

/**
 * What else keeps a version from being deleted: training jobs that start from it (training sits
 * above this lib, so it answers through this port, wired in apps/server), described, asked in
 * the deletion's transaction.
 */
export interface VersionUsers {
  usersOf(tx: SqlQueryable, versionId: string, limit: number): Promise<string[]>;
  /**
   * Removes this context's records that only point at the version (a push's receipt, a remote
   * link), in the deletion's transaction: left behind, they would name a version that is gone
   * and make the same version's next push or pull fail on their unique keys.
   */
  forget?(tx: SqlQueryable, versionId: string): Promise<void>;
}

/** A file a version is about to hold, as the model-file check sees it: its name, artifact type and blob. */
export interface VersionFile {
  name: string;
  type: string;
  sha256: string;
  size: number;
}

/**
 * Checks a version's model files before it is created (port; libs/trainers implements it for the
 * scoring contract, wired in apps/server): a broken model is refused with a message that says
 * what is wrong, instead of failing whoever scores with it later. Throws a DomainError.
 */
export interface ModelFileCheck {
  /** The files among these artifacts (a version created from a job or by `models.createVersion`). */
  checkArtifacts(artifactIds: readonly string[]): Promise<void>;
  /** The files of a version made elsewhere, before their artifact records exist; their blobs can be read once `readable` resolves. */
  checkFiles(files: readonly VersionFile[], readable?: () => Promise<void>): Promise<void>;
}

/** A version's row as VERSION_SELECT reads it; its artifacts are the artifacts context's. */
type VersionRow = Omit<VersionOutput, 'artifactIds' | 'artifactCount'>;

/** Model versions: numbering, gates, aliases, the active version. */
export const createModelVersionService = (
  database: Database,
  artifacts: VersionArtifacts,
  options: { modelFiles?: ModelFileCheck; users?: () => readonly VersionUsers[] } = {},
) => {
  const { sql } = database;

  /** The rows with their artifact ids, asked of the artifacts context in one query (through `tx` inside a transaction). */
  const withArtifactIds = async (tx: SqlQueryable, rows: VersionRow[]): Promise<VersionOutput[]> => {
    const ids = await artifacts.idsOfVersions(
      rows.map((row) => row.id),
      tx,
    );
    return rows.map((row) => ({ ...row, artifactIds: ids.get(row.id)?.ids ?? [], artifactCount: ids.get(row.id)?.count ?? 0 }));
  };

  /** `knownArtifactIds`: the caller knows them (a version just created with none), so they are not asked for. */
  const byId = async (tx: SqlQueryable, id: string, knownArtifactIds?: string[]): Promise<VersionOutput> => {
    const rows = await tx.query<VersionRow>(`${VERSION_SELECT} WHERE v."id" = $1`, [id]);
    const [row] = knownArtifactIds
      ? rows.map((r) => ({ ...r, artifactIds: knownArtifactIds, artifactCount: knownArtifactIds.length }))
      : await withArtifactIds(tx, rows);
    if (!row) throw notFound('Model version', { id });
    return row;
  };

  /** Two queries per lookup: the version row with its aliases and parent, addressed any way; then its artifact ids. */
  const find = async (tx: SqlQueryable, model: string, ref: VersionRef): Promise<VersionOutput> => {
    const [query, params]: [string, unknown[]] =
      'version' in ref
        ? [`${VERSION_SELECT} WHERE m."name" = $1 AND v."version" = $2`, [model, ref.version]]
        : ref.alias === 'latest'
          ? [`${VERSION_SELECT} WHERE m."name" = $1 ORDER BY v."version" DESC LIMIT 1`, [model]]
          : ref.alias === 'active'
            ? [`${VERSION_SELECT} WHERE m."name" = $1 AND v."id" = m."activeVersionId"`, [model]]
            : [`${VERSION_SELECT} JOIN "ModelAlias" ra ON ra."versionId" = v."id" WHERE m."name" = $1 AND ra."alias" = $2`, [model, ref.alias]];
    const [row] = await withArtifactIds(tx, await tx.query<VersionRow>(query, params));
    if (!row) throw await versionNotFound(tx, model, ref);
    return row;
  };

  return {
    get: (model: string, ref: VersionRef): Promise<VersionOutput> => find(sql, model, ref),

    /** The id of a model's version, or null (a job names its parent version by model and number). */
    idOf: async (model: string, version: number): Promise<string | null> =>
      (await database.prisma.modelVersion.findFirst({ where: { version, model: { name: model } }, select: { id: true } }))?.id ?? null,

    /**
     * Up to `limit` versions a training job produced, by model and number. `tx`: a deletion of the
     * job asks inside its transaction, after locking the job's row.
     */
    producedBy: (tx: SqlQueryable, trainingJobId: string, limit: number): Promise<Array<{ model: string; version: number }>> =>
      tx.query<{ model: string; version: number }>(
        `SELECT m."name" AS "model", v."version" FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId"
          WHERE v."trainingJobId" = $1 ORDER BY m."name", v."version" LIMIT $2`,
        [trainingJobId, limit],
      ),

    /** Up to `limit` versions trained on this snapshot, described (a snapshot's deletion asks, in its transaction). */
    usingSnapshot: async (tx: SqlQueryable, snapshotId: string, limit: number): Promise<string[]> =>
      (
        await tx.query<{ model: string; version: number }>(
          `SELECT m."name" AS "model", v."version" FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId"
            WHERE v."datasetSnapshotId" = $1 ORDER BY m."name", v."version" LIMIT $2`,
          [snapshotId, limit],
        )
      ).map((version) => `${version.model} version ${version.version}`),

    /**
     * Hard delete of one version: its row and its artifact records (their blobs go at the next
     * garbage collection unless something else uses them), recorded as a `version.deleted`
     * event. Refused (FAILED_PRECONDITION, naming them) while aliases point at it, it is the
     * model's active version, other versions name it as their parent, or training jobs start
     * from it — all checked under the model's row lock. Its number is never handed out again.
     */
    deleteVersion: (model: string, version: number, actor: string): Promise<{ deleted: true; model: string; version: number; artifactsDeleted: number }> =>
      sql.transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const id = await versionId(tx, model, version);
        const aliases = await tx.query<{ alias: string }>(`SELECT "alias" FROM "ModelAlias" WHERE "versionId" = $1 ORDER BY "alias"`, [id]);
        const children = await tx.query<{ model: string; version: number }>(
          `SELECT m."name" AS "model", v."version" FROM "ModelVersion" v JOIN "ModelRegistry" m ON m."id" = v."modelId"
            WHERE v."parentVersionId" = $1 ORDER BY m."name", v."version" LIMIT 5`,
          [id],
        );
        const users = [
          ...aliases.map((row) => `alias ${row.alias}`),
          ...(locked.activeVersionId === id ? ['the model’s active version'] : []),
          ...children.map((child) => `${child.model} version ${child.version} (its child)`),
        ];
        for (const source of options.users?.() ?? []) users.push(...(await source.usersOf(tx, id, 5)));
        if (users.length > 0) {
          throw new DomainError('FAILED_PRECONDITION', `${model} version ${version} is still used: ${users.join(', ')}; remove those first`, {
            model,
            version,
            users,
          });
        }
        for (const source of options.users?.() ?? []) await source.forget?.(tx, id);
        const artifactsDeleted = await artifacts.deleteOfVersion(tx, id);
        await tx.query(`DELETE FROM "ModelVersion" WHERE "id" = $1`, [id]);
        await appendEvent(tx, locked.id, 'version.deleted', actor, { version, artifactsDeleted });
        return { deleted: true as const, model, version, artifactsDeleted };
      }),

    /** Whether a version with this id exists (artifacts ask before registering an artifact against it). */
    exists: async (id: string): Promise<boolean> => (await database.prisma.modelVersion.findUnique({ where: { id }, select: { id: true } })) !== null,

    /** Model and number of each version id that exists: for contexts that keep version ids (sync's links). */
    numbersOf: (ids: readonly string[]): Promise<VersionNumber[]> => versionNumbers(database, ids),

    /**
     * The number is allocated by bumping `latestVersion` on the model's row inside the same
     * transaction as the insert: concurrent registrations queue on that row lock, so they get
     * 1, 2, 3… with no duplicate, and a failure rolls the bump back, so no gap either.
     */
    create: async (input: CreateVersionInput, actor: string, extras: VersionExtras = {}): Promise<VersionOutput> => {
      // Outside the transaction: loading a model may take a while, and holds no lock.
      if (options.modelFiles && input.artifactIds.length > 0) await options.modelFiles.checkArtifacts(input.artifactIds);
      if (options.modelFiles && extras.modelFiles) await options.modelFiles.checkFiles(extras.modelFiles, extras.filesReadable);
      return sql.transaction(async (tx) => {
        // The UPDATE takes the model's row lock and hands out the number in one statement.
        const [model] = await tx.query<{ id: string; archivedAt: Date | null; latestVersion: number }>(
          `UPDATE "ModelRegistry" SET "latestVersion" = "latestVersion" + 1, "updatedAt" = now() WHERE "name" = $1 RETURNING "id", "archivedAt", "latestVersion"`,
          [input.model],
        );
        if (!model) throw notFound(`Model ${input.model}`, { model: input.model });
        if (model.archivedAt) throw new DomainError('FAILED_PRECONDITION', `Model ${input.model} is archived`, { model: input.model });
        const report = evaluateGate(input.gate, input.metrics, await baselines(tx, model.id, input.gate));
        if (!report.passed) throw gateFailed(`Version of ${input.model} not created`, report);
        const parent = input.parentVersion ? await versionId(tx, input.parentVersion.model, input.parentVersion.version) : null;
        const id = newId();
        await tx.query(
          `WITH created AS (
             INSERT INTO "ModelVersion" ("id", "modelId", "version", "description", "metrics", "validation", "tags", "trainingJobId", "datasetSnapshotId", "parentVersionId", "provenance")
             VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::text[], $8, $9, $10, $14::jsonb) RETURNING "id")
           INSERT INTO "ModelEvent" ("id", "modelId", "type", "actor", "data")
           SELECT $11, $2, 'version.created', $12, $13::jsonb FROM created`,
          [
            id,
            model.id,
            model.latestVersion,
            input.description,
            JSON.stringify(input.metrics),
            JSON.stringify({ create: report }),
            input.tags,
            input.trainingJobId ?? null,
            input.datasetSnapshotId ?? null,
            parent,
            newId(),
            actor,
            JSON.stringify({ version: model.latestVersion, parentVersion: input.parentVersion ?? null }),
            extras.provenance === undefined ? null : JSON.stringify(extras.provenance),
          ],
        );
        await extras.inTransaction?.(tx, id);
        await artifacts.linkToVersion(tx, id, input.artifactIds);
        // Only this transaction knows the new id: with nothing linked and no hook that could add artifacts, it has none.
        return byId(tx, id, input.artifactIds.length === 0 && !extras.inTransaction ? [] : undefined);
      });
    },

    async list(model: string, limit: number, cursor?: string): Promise<{ items: VersionOutput[]; nextCursor: string | null }> {
      const rows = await withArtifactIds(
        sql,
        await sql.query<VersionRow>(
          `${VERSION_SELECT} WHERE m."name" = $1 ${cursor ? 'AND v."version" < $3' : ''} ORDER BY v."version" DESC LIMIT $2`,
          cursor ? [model, limit + 1, Number(cursor)] : [model, limit + 1],
        ),
      );
      // An empty page for a model that does not exist would read as "no versions yet".
      if (rows.length === 0 && (await sql.query(`SELECT 1 FROM "ModelRegistry" WHERE "name" = $1`, [model])).length === 0)
        throw notFound(`Model ${model}`, { model });
      return pageOf(rows, limit, (version) => String(version.version));
    },

    /** Moves (or creates) an alias. A failing gate blocks the move unless overridden; both are recorded. */
    setAlias: (
      input: { model: string; alias: string; version: number; gate: GateRule[]; override?: { reason: string } },
      actor: string,
    ): Promise<VersionOutput> =>
      sql.transaction(async (tx) => {
        const model = await lockModel(tx, input.model);
        const target = await versionId(tx, input.model, input.version);
        const [current] = await tx.query<{ versionId: string; version: number }>(
          `SELECT a."versionId", v."version" FROM "ModelAlias" a JOIN "ModelVersion" v ON v."id" = a."versionId" WHERE a."modelId" = $1 AND a."alias" = $2`,
          [model.id, input.alias],
        );
        const [{ metrics } = { metrics: {} }] = await tx.query<{ metrics: Metrics }>(`SELECT "metrics" FROM "ModelVersion" WHERE "id" = $1`, [target]);
        const report = evaluateGate(input.gate, metrics, await baselines(tx, model.id, input.gate));
        if (!report.passed && !input.override) throw gateFailed(`Alias ${input.alias} not moved to version ${input.version}`, report);
        const record = { report, override: report.passed ? null : (input.override ?? null), actor, at: new Date().toISOString() };
        // validation = { create: …, aliases: { <alias>: { report, override, actor, at } } }
        await tx.query(
          `UPDATE "ModelVersion" SET "validation" = COALESCE("validation", '{}'::jsonb)
             || jsonb_build_object('aliases', COALESCE("validation"->'aliases', '{}'::jsonb) || jsonb_build_object($2::text, $3::jsonb))
           WHERE "id" = $1`,
          [target, input.alias, JSON.stringify(record)],
        );
        await tx.query(
          `INSERT INTO "ModelAlias" ("id", "modelId", "alias", "versionId") VALUES ($1, $2, $3, $4)
           ON CONFLICT ("modelId", "alias") DO UPDATE SET "versionId" = EXCLUDED."versionId", "updatedAt" = now()`,
          [newId(), model.id, input.alias, target],
        );
        await appendEvent(tx, model.id, 'alias.moved', actor, {
          alias: input.alias,
          from: current?.version ?? null,
          to: input.version,
          gatePassed: report.passed,
          override: record.override,
        });
        return byId(tx, target);
      }),

    removeAlias: (model: string, alias: string, actor: string): Promise<{ removed: true }> =>
      sql.transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const removed = await tx.query(`DELETE FROM "ModelAlias" WHERE "modelId" = $1 AND "alias" = $2 RETURNING "id"`, [locked.id, alias]);
        if (removed.length === 0) throw new DomainError('NOT_FOUND', `Model ${model} has no alias ${alias}`, { model, alias });
        await appendEvent(tx, locked.id, 'alias.removed', actor, { alias });
        return { removed: true as const };
      }),

    /** One active version per model: the selection that scoring uses. `null` clears it. */
    setActive: (model: string, version: number | null, actor: string): Promise<{ model: string; activeVersion: number | null }> =>
      sql.transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        if (locked.archivedAt && version !== null) throw new DomainError('FAILED_PRECONDITION', `Model ${model} is archived`, { model });
        const target = version === null ? null : await versionId(tx, model, version);
        await tx.query(`UPDATE "ModelRegistry" SET "activeVersionId" = $2, "updatedAt" = now() WHERE "id" = $1`, [locked.id, target]);
        await appendEvent(tx, locked.id, 'active.changed', actor, { version });
        return { model, activeVersion: version };
      }),

    setTags: (model: string, version: number, tags: string[], actor: string): Promise<VersionOutput> =>
      sql.transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const id = await versionId(tx, model, version);
        await tx.query(`UPDATE "ModelVersion" SET "tags" = $2::text[] WHERE "id" = $1`, [id, tags]);
        await appendEvent(tx, locked.id, 'version.tags_changed', actor, { version, tags });
        return byId(tx, id);
      }),
  };
};

export type ModelVersionService = ReturnType<typeof createModelVersionService>;
