import { DomainError, newId, notFound, pageOf } from '@trainyard/core';
import type { Database, SqlQueryable } from '@trainyard/db';
import { appendEvent, MODEL_COLUMNS, MODEL_FROM, type ModelOutput } from './registry-records';

export interface RegisterModelInput {
  name: string;
  description: string;
  tags: string[];
  metadata: Record<string, unknown>;
  parentModel?: string;
}

export interface ListModelsFilter {
  nameContains?: string;
  tag?: string;
  metadata?: Record<string, unknown>;
  includeArchived: boolean;
  limit: number;
  cursor?: string;
}

/** Locks the model's row for the rest of the transaction: registry changes to one model are serialised. */
export const lockModel = async (tx: SqlQueryable, name: string): Promise<{ id: string; archivedAt: Date | null; activeVersionId: string | null }> => {
  const [row] = await tx.query<{ id: string; archivedAt: Date | null; activeVersionId: string | null }>(
    `SELECT "id", "archivedAt", "activeVersionId" FROM "ModelRegistry" WHERE "name" = $1 FOR UPDATE`,
    [name],
  );
  if (!row) throw notFound(`Model ${name}`, { model: name });
  return row;
};

/** Registered models: names, descriptions, tags, metadata, model-level lineage, archive. */
export const createModelRegistryService = (database: Database) => {
  const { sql } = database;

  const get = async (name: string, tx: SqlQueryable = sql): Promise<ModelOutput> => {
    const [row] = await tx.query<ModelOutput>(`SELECT ${MODEL_COLUMNS} FROM ${MODEL_FROM} WHERE m."name" = $1`, [name]);
    if (!row) throw notFound(`Model ${name}`, { model: name });
    return row;
  };

  const parentId = async (tx: SqlQueryable, name: string | undefined | null): Promise<string | null> => {
    if (!name) return null;
    const [row] = await tx.query<{ id: string }>(`SELECT "id" FROM "ModelRegistry" WHERE "name" = $1`, [name]);
    if (!row) throw notFound(`Parent model ${name}`, { parentModel: name });
    return row.id;
  };

  return {
    get: (name: string) => get(name),

    /** Whether a model of this name is registered (archived or not): a plain read, no transaction. */
    async exists(name: string): Promise<boolean> {
      const rows = await sql.query<{ id: string }>(`SELECT "id" FROM "ModelRegistry" WHERE "name" = $1`, [name]);
      return rows.length > 0;
    },

    register: (input: RegisterModelInput, actor: string): Promise<ModelOutput> =>
      sql.transaction(async (tx) => {
        const id = newId();
        const inserted = await tx.query<{ id: string }>(
          `INSERT INTO "ModelRegistry" ("id", "name", "description", "tags", "metadata", "parentId")
           VALUES ($1, $2, $3, $4::text[], $5::jsonb, $6) ON CONFLICT ("name") DO NOTHING RETURNING "id"`,
          [id, input.name, input.description, input.tags, JSON.stringify(input.metadata), await parentId(tx, input.parentModel)],
        );
        if (inserted.length === 0) throw new DomainError('CONFLICT', `A model named ${input.name} already exists`, { model: input.name });
        await appendEvent(tx, id, 'model.registered', actor, { name: input.name });
        return get(input.name, tx);
      }),

    /** Newest first; the cursor is the last id of the previous page. */
    async list(filter: ListModelsFilter): Promise<{ items: ModelOutput[]; nextCursor: string | null }> {
      const clauses: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown): string => `$${params.push(value)}`;
      if (!filter.includeArchived) clauses.push(`m."archivedAt" IS NULL`);
      if (filter.nameContains) clauses.push(`m."name" ILIKE ${param(`%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
      if (filter.tag) clauses.push(`m."tags" @> ARRAY[${param(filter.tag)}]::text[]`);
      if (filter.metadata && Object.keys(filter.metadata).length > 0) clauses.push(`m."metadata" @> ${param(JSON.stringify(filter.metadata))}::jsonb`);
      if (filter.cursor) clauses.push(`m."id" < ${param(filter.cursor)}::uuid`);
      const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
      const rows = await sql.query<ModelOutput>(
        `SELECT ${MODEL_COLUMNS} FROM ${MODEL_FROM} ${where} ORDER BY m."id" DESC LIMIT ${param(filter.limit + 1)}`,
        params,
      );
      return pageOf(rows, filter.limit, (model) => model.id);
    },

    update: (
      name: string,
      changes: { description?: string; metadata?: Record<string, unknown>; parentModel?: string | null },
      actor: string,
    ): Promise<ModelOutput> =>
      sql.transaction(async (tx) => {
        const model = await lockModel(tx, name);
        if (changes.parentModel !== undefined) {
          const parent = await parentId(tx, changes.parentModel);
          if (parent) {
            // The new parent must not descend from this model: lineage stays a forest.
            const [cycle] = await tx.query(
              `WITH RECURSIVE ancestors AS (
                 SELECT "id", "parentId" FROM "ModelRegistry" WHERE "id" = $1
                 UNION SELECT r."id", r."parentId" FROM "ModelRegistry" r JOIN ancestors a ON r."id" = a."parentId")
               SELECT 1 FROM ancestors WHERE "id" = $2`,
              [parent, model.id],
            );
            if (cycle) {
              throw new DomainError('FAILED_PRECONDITION', `Making ${changes.parentModel} the parent of ${name} would make ${name} its own ancestor`, {
                model: name,
                parentModel: changes.parentModel,
              });
            }
          }
          await tx.query(`UPDATE "ModelRegistry" SET "parentId" = $2 WHERE "id" = $1`, [model.id, parent]);
        }
        if (changes.description !== undefined) await tx.query(`UPDATE "ModelRegistry" SET "description" = $2 WHERE "id" = $1`, [model.id, changes.description]);
        if (changes.metadata !== undefined)
          await tx.query(`UPDATE "ModelRegistry" SET "metadata" = $2::jsonb WHERE "id" = $1`, [model.id, JSON.stringify(changes.metadata)]);
        await tx.query(`UPDATE "ModelRegistry" SET "updatedAt" = now() WHERE "id" = $1`, [model.id]);
        await appendEvent(tx, model.id, 'model.updated', actor, changes);
        return get(name, tx);
      }),

    archive: (name: string, actor: string): Promise<ModelOutput> =>
      sql.transaction(async (tx) => {
        const model = await lockModel(tx, name);
        if (model.archivedAt) return get(name, tx);
        if (model.activeVersionId) {
          throw new DomainError('FAILED_PRECONDITION', `Model ${name} has an active version; clear it (setActive with version null) before archiving`, {
            model: name,
          });
        }
        await tx.query(`UPDATE "ModelRegistry" SET "archivedAt" = now(), "active" = false, "updatedAt" = now() WHERE "id" = $1`, [model.id]);
        await appendEvent(tx, model.id, 'model.archived', actor, {});
        return get(name, tx);
      }),

    setTags: (name: string, tags: string[], actor: string): Promise<ModelOutput> =>
      sql.transaction(async (tx) => {
        const model = await lockModel(tx, name);
        await tx.query(`UPDATE "ModelRegistry" SET "tags" = $2::text[], "updatedAt" = now() WHERE "id" = $1`, [model.id, tags]);
        await appendEvent(tx, model.id, 'model.tags_changed', actor, { tags });
        return get(name, tx);
      }),

    async events(name: string, limit: number, cursor?: string) {
      const model = await get(name);
      const rows = await sql.query<{ id: string; type: string; actor: string; data: unknown; createdAt: Date }>(
        `SELECT "id", "type", "actor", "data", "createdAt" FROM "ModelEvent" WHERE "modelId" = $1 ${cursor ? 'AND "id" < $3::uuid' : ''}
         ORDER BY "id" DESC LIMIT $2`,
        cursor ? [model.id, limit + 1, cursor] : [model.id, limit + 1],
      );
      return pageOf(rows, limit, (event) => event.id);
    },
  };
};

export type ModelRegistryService = ReturnType<typeof createModelRegistryService>;
