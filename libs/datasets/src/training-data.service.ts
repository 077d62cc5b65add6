import {
  type DataFilter,
  type DataPointOutput,
  type ItemResult,
  pairInput,
  type PairInput,
} from '@trainyard/contracts';
import { DomainError, notFound, pageOf } from '@trainyard/core';
import type { Database } from '@trainyard/db';
import { filterToSql } from './data-filter.sql';
import { insertPairs, preparePair } from './pair-insert';
import { qualityScore } from './quality-score';

const SELECT_COLUMNS = `"id", "aiText", "humanizedText", "contentHash", "detectionScoreBefore", "detectionScoreAfter", "improvement",
  "qualityScore", "feedbackRating", "feedbackComment", "sourceTransformationId", "sourceModel", "sourceProvider", "language",
  "tags", "excluded", "createdAt"`;

const HISTOGRAM_BUCKETS = 10;

export interface Histogram {
  /** Counts for [0, 0.1), [0.1, 0.2), … [0.9, 1.0]. */
  buckets: number[];
  missing: number;
}

export interface DataStats {
  total: number;
  excluded: number;
  withFeedback: number;
  detectionScoreBefore: Histogram;
  detectionScoreAfter: Histogram;
  qualityScore: Histogram;
}

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
    const created = await insertPairs(sql, valid.map((entry) => entry.prepared));
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

    async setFeedback(id: string, rating: number | null, comment: string | null | undefined): Promise<DataPointOutput> {
      const point = await prisma.trainingDataPoint.findUnique({ where: { id } });
      if (!point) throw notFound('Training data point', { id });
      await prisma.trainingDataPoint.update({
        where: { id },
        data: {
          feedbackRating: rating,
          ...(comment !== undefined ? { feedbackComment: comment } : {}),
          qualityScore: qualityScore({ ...point, feedbackRating: rating }),
        },
      });
      return this.get(id);
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
        // width_bucket puts exactly 1.0 in bucket 11; LEAST folds it into the last one.
        const rows = await sql.query<{ bucket: number | null; count: number }>(
          `SELECT LEAST(width_bucket("${column}", 0, 1, ${HISTOGRAM_BUCKETS}), ${HISTOGRAM_BUCKETS}) AS bucket, count(*)::int AS count
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
