import { randomBytes } from 'node:crypto';
import type { ParsedPair } from '@trainyard/contracts';
import { newId } from '@trainyard/core';
import type { SqlQueryable } from '@trainyard/db';
import { pairContentHash } from './pair-normalisation';
import { detectionImprovement, qualityScore } from './quality-score';

export interface PreparedPair {
  id: string;
  contentHash: string;
  pair: ParsedPair;
}

export const preparePair = (pair: ParsedPair): PreparedPair => ({ id: newId(), contentHash: pairContentHash(pair.aiText, pair.humanizedText), pair });

const COLUMNS = [
  'id', 'aiText', 'humanizedText', 'contentHash', 'detectionScoreBefore', 'detectionScoreAfter', 'improvement',
  'qualityScore', 'feedbackRating', 'feedbackComment', 'sourceTransformationId', 'sourceModel', 'sourceProvider',
  'language', 'tags',
] as const;
const COLUMN_LIST = COLUMNS.map((column) => `"${column}"`).join(', ');

const rowValues = ({ id, contentHash, pair }: PreparedPair) => ({
  id,
  ai: pair.aiText,
  human: pair.humanizedText,
  hash: contentHash,
  before: pair.detectionScoreBefore ?? null,
  after: pair.detectionScoreAfter ?? null,
  improvement: detectionImprovement(pair.detectionScoreBefore, pair.detectionScoreAfter),
  quality: qualityScore(pair),
  rating: pair.feedbackRating ?? null,
  comment: pair.feedbackComment ?? null,
  transformation: pair.sourceTransformationId ?? null,
  model: pair.sourceModel ?? null,
  provider: pair.sourceProvider ?? null,
  language: pair.language ?? null,
  tags: pair.tags,
});

/**
 * Inserts many pairs in one statement, with `ON CONFLICT DO NOTHING` on the content hash for
 * dedup. One statement means a batch is atomic: a crash never leaves half a pair. Returns the
 * content hashes that were new. (Prisma's createMany measured ~3.5k rows/s on PGlite.)
 */
export const insertPairs = async (db: SqlQueryable, prepared: readonly PreparedPair[]): Promise<Set<string>> => {
  if (prepared.length === 0) return new Set();
  // One JSON parameter, expanded by PostgreSQL itself: far cheaper than serialising one array
  // parameter per column in JavaScript.
  const inserted = await db.query<{ contentHash: string }>(
    `INSERT INTO "TrainingDataPoint" (${COLUMN_LIST})
     SELECT i.id, i.ai, i.human, i.hash, i.before, i.after, i.improvement, i.quality, i.rating, i.comment,
            i.transformation, i.model, i.provider, i.language, ARRAY(SELECT jsonb_array_elements_text(i.tags))
     FROM jsonb_to_recordset($1::jsonb) AS i(id uuid, ai text, human text, hash text, before float8, after float8,
          improvement float8, quality float8, rating int, comment text, transformation text, model text, provider text,
          language text, tags jsonb)
     ON CONFLICT ("contentHash") DO NOTHING
     RETURNING "contentHash"`,
    [JSON.stringify(prepared.map(rowValues))],
  );
  return new Set(inserted.map((row) => row.contentHash));
};

// CSV as PostgreSQL's COPY reads it: an empty unquoted field is NULL, a quoted one is text.
const csvText = (value: string | null): string => (value === null ? '' : `"${value.replace(/"/g, '""')}"`);
const csvNumber = (value: number | null): string => (value === null ? '' : String(value));
const arrayLiteral = (items: readonly string[]): string => `{${items.map((item) => `"${item.replace(/(["\\])/g, '\\$1')}"`).join(',')}}`;

const csvLine = (prepared: PreparedPair): string => {
  const row = rowValues(prepared);
  return [
    row.id, csvText(row.ai), csvText(row.human), row.hash, csvNumber(row.before), csvNumber(row.after), csvNumber(row.improvement),
    csvNumber(row.quality), csvNumber(row.rating), csvText(row.comment), csvText(row.transformation), csvText(row.model),
    csvText(row.provider), csvText(row.language), csvText(arrayLiteral(row.tags)),
  ].join(',');
};

/**
 * The same insert through COPY, where the database offers it (PGlite): the batch is copied into
 * an import's own temporary staging table, then moved into the real table in one statement
 * (dedup by `ON CONFLICT`, so a batch is still atomic). About twice as fast as the JSON path.
 */
export const createCopyPairInserter = async (db: SqlQueryable & Required<Pick<SqlQueryable, 'copyCsv'>>) => {
  // Its own table: two imports at once must not move each other's rows.
  const staging = `pair_import_${randomBytes(8).toString('hex')}`;
  await db.query(`CREATE TEMP TABLE "${staging}" (LIKE "TrainingDataPoint" INCLUDING DEFAULTS)`);
  return {
    async insert(prepared: readonly PreparedPair[]): Promise<Set<string>> {
      if (prepared.length === 0) return new Set();
      await db.copyCsv(`COPY "${staging}" (${COLUMN_LIST}) FROM '/dev/blob' WITH (FORMAT csv)`, prepared.map(csvLine).join('\n'));
      const inserted = await db.query<{ contentHash: string }>(
        `WITH moved AS (DELETE FROM "${staging}" RETURNING ${COLUMN_LIST})
         INSERT INTO "TrainingDataPoint" (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM moved
         ON CONFLICT ("contentHash") DO NOTHING
         RETURNING "contentHash"`,
      );
      return new Set(inserted.map((row) => row.contentHash));
    },
    async close(): Promise<void> {
      await db.query(`DROP TABLE IF EXISTS "${staging}"`);
    },
  };
};
