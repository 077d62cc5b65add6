import { z } from 'zod';
import { LIMITS, pageInput, pageOutput, seedSchema, storedJson } from './common.schema';

/** Longest accepted text of a pair, in characters (documented limit). */
export const MAX_TEXT_LENGTH = 100_000;
export const MAX_BATCH_SIZE = 1_000;

const score = z.number().min(0).max(1);
// PostgreSQL text cannot hold NUL: refused per pair, instead of failing the batch it is in.
const noNul = (value: string) => !value.includes('\u0000');
const text = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
  .refine(noNul, 'must not contain NUL characters');
const shortText = z.string().max(LIMITS.nameLength).refine(noNul, 'must not contain NUL characters');
const tag = z
  .string()
  .min(1)
  .max(LIMITS.tagLength)
  .regex(/^[\w.:/-]+$/, 'tags use letters, digits and . _ : / -');

export const pairInput = z.strictObject({
  aiText: text,
  humanizedText: text,
  detectionScoreBefore: score.optional(),
  detectionScoreAfter: score.optional(),
  feedbackRating: z.number().int().min(1).max(5).optional(),
  feedbackComment: z.string().max(LIMITS.descriptionLength).refine(noNul, 'must not contain NUL characters').optional(),
  sourceTransformationId: shortText.optional(),
  sourceModel: shortText.optional(),
  sourceProvider: shortText.optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as en or en-GB')
    .optional(),
  tags: z.array(tag).max(LIMITS.tagsPerItem).default([]),
});
export type PairInput = z.input<typeof pairInput>;
export type ParsedPair = z.output<typeof pairInput>;

// Items are validated one by one on the server so that one bad pair does not sink the batch.
export const collectBatchInput = z.strictObject({ items: z.array(z.unknown()).min(1).max(MAX_BATCH_SIZE) });

/** One item of `collectBatch`: created, a duplicate of an existing pair, or rejected with its problems. */
export const itemResultOutput = z.discriminatedUnion('status', [
  z.object({ index: z.number(), status: z.literal('created'), id: z.string() }),
  z.object({ index: z.number(), status: z.literal('duplicate'), id: z.string() }),
  z.object({ index: z.number(), status: z.literal('rejected'), errors: z.array(z.object({ path: z.string(), message: z.string() })) }),
]);
export type ItemResult = z.infer<typeof itemResultOutput>;
export const collectOutput = z.object({ id: z.string(), duplicate: z.boolean() });
export const collectBatchOutput = z.object({ results: z.array(itemResultOutput) });

const range = z.strictObject({ min: score.optional(), max: score.optional() });

export const dataFilter = z.strictObject({
  detectionScoreBefore: range.optional(),
  detectionScoreAfter: range.optional(),
  minImprovement: z.number().min(-1).max(1).optional(),
  minQuality: score.optional(),
  /** Pairs carrying every one of these tags. */
  tags: z.array(tag).max(LIMITS.tagsPerItem).optional(),
  /** Pairs carrying none of these tags (e.g. `['demo']` leaves the demo data out). */
  excludeTags: z.array(tag).max(LIMITS.tagsPerItem).optional(),
  sourceTransformationId: shortText.optional(),
  sourceModel: shortText.optional(),
  sourceProvider: shortText.optional(),
  language: z.string().max(35).optional(),
  createdFrom: z.date().optional(),
  createdTo: z.date().optional(),
  textContains: z.string().min(1).max(200).optional(),
  /** undefined = only included points (the default a training set wants). */
  excluded: z.boolean().optional(),
});
export type DataFilter = z.infer<typeof dataFilter>;

export const listDataInput = z.strictObject({ filter: dataFilter.default({}), ...pageInput });
export const dataPointIdInput = z.strictObject({ id: z.uuid() });
/** Sets a pair's feedback: only what is given changes (a rating left out keeps the rating, as a comment left out keeps the comment), so two quick edits never undo each other. */
export const setFeedbackInput = z.strictObject({
  id: z.uuid(),
  rating: z.number().int().min(1).max(5).nullable().optional(),
  comment: z.string().max(LIMITS.descriptionLength).nullable().optional(),
});
export const dataStatsInput = z.strictObject({ filter: dataFilter.default({}) });
/** Counts with the list's meaning: what the table shows and a snapshot of the same filter freezes. */
export const countDataInput = z.strictObject({ filter: dataFilter.default({}) });
/**
 * Bulk exclude/include of every pair the filter matches. The filter's `excluded` field narrows
 * which pairs are looked at (default: all); only pairs whose state changes are counted.
 */
export const setExcludedMatchingInput = z.strictObject({ filter: dataFilter, excluded: z.boolean() });

export const HISTOGRAM_BUCKETS = 10;

export const scoreHistogramOutput = z.object({
  /** Counts for [0, 0.1), [0.1, 0.2), … [0.9, 1.0]: pairs that have the score. */
  buckets: z.array(z.number()),
  /** Pairs without the score: in no bucket. */
  missing: z.number(),
});
export type ScoreHistogram = z.infer<typeof scoreHistogramOutput>;

export const dataStatsOutput = z.object({
  total: z.number(),
  excluded: z.number(),
  withFeedback: z.number(),
  detectionScoreBefore: scoreHistogramOutput,
  detectionScoreAfter: scoreHistogramOutput,
  qualityScore: scoreHistogramOutput,
});
export type DataStatsOutput = z.infer<typeof dataStatsOutput>;

export const dataPointOutput = z.object({
  id: z.string(),
  aiText: z.string(),
  humanizedText: z.string(),
  contentHash: z.string(),
  detectionScoreBefore: z.number().nullable(),
  detectionScoreAfter: z.number().nullable(),
  improvement: z.number().nullable(),
  qualityScore: z.number(),
  feedbackRating: z.number().nullable(),
  feedbackComment: z.string().nullable(),
  sourceTransformationId: z.string().nullable(),
  sourceModel: z.string().nullable(),
  sourceProvider: z.string().nullable(),
  language: z.string().nullable(),
  tags: z.array(z.string()),
  excluded: z.boolean(),
  createdAt: z.date(),
});
export type DataPointOutput = z.infer<typeof dataPointOutput>;
export const dataPointPageOutput = pageOutput(dataPointOutput);
/** `setExcludedMatching`: how many pairs switched state. */
export const changedOutput = z.object({ changed: z.number() });
/** `count`: how many pairs `list` returns for the filter. */
export const countOutput = z.object({ count: z.number() });

export interface ImportReport {
  imported: number;
  duplicates: number;
  rejected: Array<{ line: number; message: string }>;
  /** True when the file itself was unreadable from some point on (bad quoting, invalid UTF-8). */
  aborted: boolean;
}

export const createSnapshotInput = z.strictObject({
  name: z.string().min(1).max(LIMITS.nameLength),
  filter: dataFilter.default({}),
  validationFraction: z.number().min(0).max(0.9).default(0.1),
  seed: seedSchema,
});
export const snapshotIdInput = z.strictObject({ id: z.uuid() });
export const listSnapshotsInput = z.strictObject({ ...pageInput });

export const snapshotOutput = z.object({
  id: z.string(),
  name: z.string(),
  /** The data filter frozen into the snapshot, as it was given. */
  filter: storedJson(),
  validationFraction: z.number(),
  seed: z.number(),
  totalCount: z.number(),
  trainCount: z.number(),
  validationCount: z.number(),
  blobSha256: z.string(),
  blobSize: z.number(),
  /** Set on a snapshot made elsewhere: `{ pulledFrom }` here, `{ pushedFrom }` on a shared server; null when frozen here. */
  provenance: storedJson(),
  createdAt: z.date(),
});
export type SnapshotOutput = z.infer<typeof snapshotOutput>;
export const snapshotPageOutput = pageOutput(snapshotOutput);

/** Hard delete of pairs by id (issue #27): at most 1 000 a call. Snapshots already frozen keep their copy of the pairs. */
export const deletePairsInput = z.strictObject({ ids: z.array(z.uuid()).min(1).max(1_000) });
/** `trainingData.deletePairs`: how many were deleted, and which ids were not here. */
export const deletedPairsOutput = z.object({ deleted: z.number(), notFound: z.array(z.string()) });
/** `datasets.delete`: the snapshot's row is gone; its data blob goes at the next garbage collection unless another snapshot has the same data. */
export const deletedSnapshotOutput = z.object({ deleted: z.literal(true), id: z.string() });
