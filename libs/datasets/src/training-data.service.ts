import {
  type DataFilter,
  type DataPointOutput,
  type DataStatsOutput,
  HISTOGRAM_BUCKETS,
  type ItemResult,
  pairInput,
  type PairInput,
  type ScoreHistogram,
} from '@trainyard/contracts';
import { DomainError, notFound, pageOf } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import { filterToSql } from './data-filter.sql';
import { insertPairs, preparePair } from './pair-insert';
import { qualityScore } from './quality-score';

const SELECT_COLUMNS = `"id", "aiText", "humanizedText", "contentHash", "detectionScoreBefore", "detectionScoreAfter", "improvement",
  "qualityScore", "feedbackRating", "feedbackComment", "sourceTransformationId", "sourceModel", "sourceProvider", "language",
  "tags", "excluded", "createdAt"`;

export type Histogram = ScoreHistogram;
export type DataStats = DataStatsOutput;

const issuesOf = (error: { issues: Array<{ path: PropertyKey[]; message: string }> }) =>
  error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));

/** Training pairs: collection, dedup, feedback, filtering and statistics. */
export const createTrainingDataService = (database: Database) => {
  const { sql, prisma } = database;

  const findByHashes = async (hashes: string[]): Promise<Map<string, string>> => {
    const rows = await sql.query<{ id: string; contentHash: string }>(
      `SELECT "id", "contentHash" FROM "TrainingDataPoint" WHERE "contentHash" = ANY($1::text[])`,
      [hashes],
    );
    return new Map(rows.map((row) => [row.contentHash, row.id]));
  };

  const collectBatch = async (items: readonly unknown[]): Promise<ItemResult[]> => {
    const results: ItemResult[] = [];
    const valid: Array<{ index: number; prepared: ReturnType<typeof preparePair> }> = [];
    items.forEach((item, index) => {
      const parsed = pairInput.safeParse(item);
      if (parsed.success) valid.push({ index, prepared: preparePair(parsed.data) });
      else results.push({ index, status: 'rejected', errors: issuesOf(parsed.error) });
    });
    const created = await insertPairs(
      sql,
      valid.map((entry) => entry.prepared),
    );
    const ids = await findByHashes([...new Set(valid.map((entry) => entry.prepared.contentHash))]);
    const claimed = new Set<string>();
    for (const { index, prepared } of valid) {
      const id = ids.get(prepared.contentHash) ?? prepared.id;
      // The first occurrence of a new pair in the batch created it; any repeat is a duplicate.
      const isNew = created.has(prepared.contentHash) && !claimed.has(prepared.contentHash);
      claimed.add(prepared.contentHash);
      results.push({ index, status: isNew ? 'created' : 'duplicate', id });
    }
    return results.sort((a, b) => a.index - b.index);
  };

  return {
    collectBatch,

    async collect(input: PairInput): Promise<{ id: string; duplicate: boolean }> {
      const [result] = await collectBatch([input]);
      if (!result || result.status === 'rejected') {
        throw new DomainError('INVALID_ARGUMENT', 'Invalid training pair', { errors: result?.status === 'rejected' ? result.errors : [] });
      }
      return { id: result.id, duplicate: result.status === 'duplicate' };
    },

    /**
     * Hard delete of pairs by id (set-based, one statement). Snapshots frozen before keep their
     * own copy of the pairs in their data blob: delete those snapshots too to remove the text.
     */
    async deletePairs(ids: readonly string[]): Promise<{ deleted: number; notFound: string[] }> {
      const unique = [...new Set(ids)];
      const deleted = await sql.query<{ id: string }>(`DELETE FROM "TrainingDataPoint" WHERE "id" = ANY($1::uuid[]) RETURNING "id"`, [unique]);
      const gone = new Set(deleted.map((row) => row.id));
      return { deleted: deleted.length, notFound: unique.filter((id) => !gone.has(id)) };
    },

    async get(id: string): Promise<DataPointOutput> {
      const [row] = await sql.query<DataPointOutput>(`SELECT ${SELECT_COLUMNS} FROM "TrainingDataPoint" WHERE "id" = $1`, [id]);
      if (!row) throw notFound('Training data point', { id });
      return row;
    },

    /** Newest first, keyed on the time-ordered id: stable while data is added. */
    async list(filter: DataFilter, limit: number, cursor?: string): Promise<{ items: DataPointOutput[]; nextCursor: string | null }> {
      const where = filterToSql(filter);
      const params = [...where.params];
      let keyset = '';
      if (cursor) {
        params.push(cursor);
        keyset = ` AND "id" < $${params.length}::uuid`;
      }
      params.push(limit + 1);
      const rows = await sql.query<DataPointOutput>(
        `SELECT ${SELECT_COLUMNS} FROM "TrainingDataPoint" WHERE ${where.sql}${keyset} ORDER BY "id" DESC LIMIT $${params.length}`,
        params,
      );
      return pageOf(rows, limit, (point) => point.id);
    },

    /** `undefined` leaves that part of the feedback as it is (`null` clears it). */
    async setFeedback(id: string, rating: number | null | undefined, comment: string | null | undefined): Promise<DataPointOutput> {
      const point = await prisma.trainingDataPoint.findUnique({ where: { id } });
      if (!point) throw notFound('Training data point', { id });
      const feedbackRating = rating === undefined ? point.feedbackRating : rating;
      await prisma.trainingDataPoint.update({
        where: { id },
        data: {
          feedbackRating,
          ...(comment !== undefined ? { feedbackComment: comment } : {}),
          qualityScore: qualityScore({ ...point, feedbackRating }),
        },
      });
      return this.get(id);
    },

    /** True while the database holds no pair at all, excluded ones included (the demo data goes only into an empty database). */
    async isEmpty(): Promise<boolean> {
      return (await prisma.trainingDataPoint.findFirst({ select: { id: true } })) === null;
    },

    /** How many pairs the list shows for this filter (and a snapshot of it freezes). */
    async count(filter: DataFilter): Promise<number> {
      const where = filterToSql(filter);
      const [row] = await sql.query<{ count: number }>(`SELECT count(*)::int AS count FROM "TrainingDataPoint" WHERE ${where.sql}`, where.params);
      return row?.count ?? 0;
    },

    /**
     * Excludes (or includes) every pair the filter matches, in one statement; the filter's own
     * `excluded` field narrows the pairs looked at (default: all). Returns how many changed.
     */
    async setExcludedMatching(filter: DataFilter, excluded: boolean): Promise<number> {
      const where = filterToSql(filter, { excludedByDefault: 'any' });
      // A literal, like filterToSql's: lets the planner use the partial index on excluded points.
      const [row] = await sql.query<{ changed: number }>(
        `WITH changed AS (UPDATE "TrainingDataPoint" SET "excluded" = ${excluded ? 'TRUE' : 'FALSE'}
           WHERE ${where.sql} AND ${excluded ? 'NOT "excluded"' : '"excluded"'} RETURNING 1)
         SELECT count(*)::int AS changed FROM changed`,
        where.params,
      );
      return row?.changed ?? 0;
    },

    async setExcluded(id: string, excluded: boolean): Promise<DataPointOutput> {
      const result = await prisma.trainingDataPoint.updateMany({ where: { id }, data: { excluded } });
      if (result.count === 0) throw notFound('Training data point', { id });
      return this.get(id);
    },

    async stats(filter: DataFilter): Promise<DataStats> {
      const where = filterToSql(filter, { excludedByDefault: 'any' });
      const [counts] = await sql.query<{ total: number; excluded: number; withFeedback: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE "excluded")::int AS excluded,
                count(*) FILTER (WHERE "feedbackRating" IS NOT NULL)::int AS "withFeedback"
         FROM "TrainingDataPoint" WHERE ${where.sql}`,
        where.params,
      );
      const histogram = async (column: 'detectionScoreBefore' | 'detectionScoreAfter' | 'qualityScore'): Promise<Histogram> => {
        // width_bucket puts exactly 1.0 in bucket 11; LEAST folds it into the last one. LEAST
        // ignores NULLs (LEAST(NULL, 10) is 10), so a missing score is kept NULL explicitly:
        // it is counted in `missing`, never in the 0.9–1.0 bucket.
        const rows = await sql.query<{ bucket: number | null; count: number }>(
          `SELECT CASE WHEN "${column}" IS NULL THEN NULL ELSE LEAST(width_bucket("${column}", 0, 1, ${HISTOGRAM_BUCKETS}), ${HISTOGRAM_BUCKETS}) END AS bucket,
                  count(*)::int AS count
           FROM "TrainingDataPoint" WHERE ${where.sql} GROUP BY 1`,
          where.params,
        );
        const buckets = Array.from({ length: HISTOGRAM_BUCKETS }, () => 0);
        let missing = 0;
        for (const row of rows) {
          if (row.bucket === null) missing += row.count;
          else buckets[row.bucket - 1] = row.count;
        }
        return { buckets, missing };
      };
      return {
        total: counts?.total ?? 0,
        excluded: counts?.excluded ?? 0,
        withFeedback: counts?.withFeedback ?? 0,
        detectionScoreBefore: await histogram('detectionScoreBefore'),
        detectionScoreAfter: await histogram('detectionScoreAfter'),
        qualityScore: await histogram('qualityScore'),
      };
    },
  };
};

export type TrainingDataService = ReturnType<typeof createTrainingDataService>;
