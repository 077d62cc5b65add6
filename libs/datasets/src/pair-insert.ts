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

/**
 * Inserts many pairs in one statement, with `ON CONFLICT DO NOTHING` on the content hash for dedup. One statement means a batch is
 * atomic: a crash never leaves half a pair. Returns the content hashes that were new.
 * (Prisma's createMany measured ~3.5k rows/s on PGlite; this is the hot path of imports.)
 */
export const insertPairs = async (db: SqlQueryable, prepared: readonly PreparedPair[]): Promise<Set<string>> => {
  if (prepared.length === 0) return new Set();
  const rows = prepared.map(({ id, contentHash, pair }) => ({
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
  }));
  // One JSON parameter, expanded by PostgreSQL itself: far cheaper than serialising one array
  // parameter per column in JavaScript.
  const inserted = await db.query<{ contentHash: string }>(
    `INSERT INTO "TrainingDataPoint" (
       "id", "aiText", "humanizedText", "contentHash", "detectionScoreBefore", "detectionScoreAfter", "improvement",
       "qualityScore", "feedbackRating", "feedbackComment", "sourceTransformationId", "sourceModel", "sourceProvider",
       "language", "tags")
     SELECT i.id, i.ai, i.human, i.hash, i.before, i.after, i.improvement, i.quality, i.rating, i.comment,
            i.transformation, i.model, i.provider, i.language, ARRAY(SELECT jsonb_array_elements_text(i.tags))
     FROM jsonb_to_recordset($1::jsonb) AS i(id uuid, ai text, human text, hash text, before float8, after float8,
          improvement float8, quality float8, rating int, comment text, transformation text, model text, provider text,
          language text, tags jsonb)
     ON CONFLICT ("contentHash") DO NOTHING
     RETURNING "contentHash"`,
    [JSON.stringify(rows)],
  );
  return new Set(inserted.map((row) => row.contentHash));
};
