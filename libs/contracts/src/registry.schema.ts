import { z } from 'zod';
import { JSON_LIMITS, jsonObject, LIMITS, pageInput, pageOutput, scalarMetadata, storedJson } from './common.schema';

/** Names never become paths, but path-like and control characters are refused anyway. */
export const modelName = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.nameLength, `must be at most ${LIMITS.nameLength} characters`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, . _ and - (starting with a letter or digit)')
  .refine((value) => !value.includes('..'), 'must not contain ".."');

export const RESERVED_ALIASES = ['latest', 'active', 'none'] as const;

export const aliasName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z][a-z0-9_-]*$/, 'use lowercase letters, digits, _ and -, starting with a letter (a number would be confused with a version)')
  .refine((value) => !/^v\d+$/.test(value), 'must not look like a version number (v1, v2, …)')
  .refine((value) => !(RESERVED_ALIASES as readonly string[]).includes(value), `is reserved (${RESERVED_ALIASES.join(', ')})`);

export const tag = z
  .string()
  .min(1)
  .max(LIMITS.tagLength)
  .regex(/^[\w.:/-]+$/);
export const tags = z.array(tag).max(LIMITS.tagsPerItem);
export const metadata = scalarMetadata;
export const metrics = jsonObject({ maxBytes: JSON_LIMITS.objectBytes, maxDepth: 1 }).pipe(
  z
    .record(
      z
        .string()
        .max(128)
        .regex(/^[\w./-]+$/),
      z.number().refine(Number.isFinite, 'must be finite'),
    )
    .refine((value) => Object.keys(value).length <= 256, 'at most 256 metrics'),
);

const operator = z.enum(['>=', '<=', '>', '<']);
export const gateRule = z.union([
  z.strictObject({ metric: z.string().max(128), op: operator, value: z.number() }),
  z.strictObject({ metric: z.string().max(128), op: operator, relativeTo: z.strictObject({ alias: aliasName }), delta: z.number().optional() }),
]);
export const gateRules = z.array(gateRule).max(50);

/** How a version is addressed: a number, an alias, or `latest` / `active`. */
export const versionRef = z.union([
  z.strictObject({ version: z.number().int().min(1) }),
  z.strictObject({ alias: z.union([aliasName, z.enum(['latest', 'active'])]) }),
]);
export type VersionRef = z.infer<typeof versionRef>;

export const registerModelInput = z.strictObject({
  name: modelName,
  description: z.string().max(LIMITS.descriptionLength).default(''),
  tags: tags.default([]),
  metadata: metadata.default({}),
  parentModel: modelName.optional(),
});
export const modelRefInput = z.strictObject({ model: modelName });
export const updateModelInput = z.strictObject({
  model: modelName,
  description: z.string().max(LIMITS.descriptionLength).optional(),
  metadata: metadata.optional(),
  parentModel: modelName.nullable().optional(),
});
export const listModelsInput = z.strictObject({
  nameContains: z.string().min(1).max(LIMITS.nameLength).optional(),
  tag: tag.optional(),
  metadata: metadata.optional(),
  includeArchived: z.boolean().default(false),
  ...pageInput,
});
/**
 * Artifacts one version may hold: a version of many small files (issue #24). `createVersion`
 * takes their ids in one request (~3.9 MB at the cap, under the default 10 MiB body); a push
 * or pull carries their records in pages of BUNDLE_ARTIFACT_PAGE (sync.schema.ts).
 */
export const MAX_VERSION_ARTIFACTS = 100_000;
/** A version's output lists at most this many artifact ids; `artifactCount` says how many it holds, `artifacts.list({ modelVersionId })` pages through all. */
export const VERSION_ARTIFACT_IDS_SHOWN = 1_000;
export const createVersionInput = z.strictObject({
  model: modelName,
  description: z.string().max(LIMITS.descriptionLength).default(''),
  metrics: metrics.default({}),
  tags: tags.default([]),
  trainingJobId: z.uuid().optional(),
  datasetSnapshotId: z.uuid().optional(),
  parentVersion: z.strictObject({ model: modelName, version: z.number().int().min(1) }).optional(),
  artifactIds: z.array(z.uuid()).max(MAX_VERSION_ARTIFACTS).default([]),
  /** Checked before the version is created; a failing gate creates nothing. */
  gate: gateRules.default([]),
});
export type CreateVersionInput = z.infer<typeof createVersionInput>;
export const getVersionInput = z.strictObject({ model: modelName, ref: versionRef });
export const listVersionsInput = z.strictObject({ model: modelName, ...pageInput });
export const setAliasInput = z.strictObject({
  model: modelName,
  alias: aliasName,
  version: z.number().int().min(1),
  /** Rules the version must pass to take the alias (e.g. beat the current holder). */
  gate: gateRules.default([]),
  /** Move the alias even if the gate fails; the override is recorded. */
  override: z.strictObject({ reason: z.string().min(1).max(1_000) }).optional(),
});
export const removeAliasInput = z.strictObject({ model: modelName, alias: aliasName });
export const setActiveInput = z.strictObject({ model: modelName, version: z.number().int().min(1).nullable() });
export const setTagsInput = z.strictObject({ model: modelName, version: z.number().int().min(1).optional(), tags });
/** Hard delete of one version (issue #27): refused while aliases, the active selection, child versions or training jobs name it. */
export const deleteVersionInput = z.strictObject({ model: modelName, version: z.number().int().min(1) });
export const lineageInput = z.strictObject({ model: modelName, version: z.number().int().min(1).optional() });
export const modelEventsInput = z.strictObject({ model: modelName, ...pageInput });

/** One text's longest length for models.score (characters). */
export const MAX_SCORE_TEXT_LENGTH = 100_000;
/** Texts of one models.score call, at most. */
export const MAX_SCORE_BATCH_TEXTS = 10_000;
/**
 * The characters of all texts of one models.score call, at most: 10 000 texts of 400 characters,
 * or 40 of the longest (100 000). Bounds what one request parses and scores, whatever its count.
 */
export const MAX_SCORE_BATCH_CHARACTERS = 4_000_000;

/** Splits texts into models.score calls within both limits, in order (a caller with more texts than one call takes). */
export const scoreBatches = (texts: readonly string[]): string[][] => {
  const batches: string[][] = [];
  let batch: string[] = [];
  let characters = 0;
  for (const text of texts) {
    if (batch.length > 0 && (batch.length === MAX_SCORE_BATCH_TEXTS || characters + text.length > MAX_SCORE_BATCH_CHARACTERS)) {
      batches.push(batch);
      batch = [];
      characters = 0;
    }
    batch.push(text);
    characters += text.length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
};

export const scoreInput = z.strictObject({
  model: modelName,
  /** Omitted: the model's active version, or its latest version when none is active (the answer says which: `chosenBy`). */
  ref: versionRef.optional(),
  texts: z
    .array(z.string().max(MAX_SCORE_TEXT_LENGTH))
    .min(1)
    .max(MAX_SCORE_BATCH_TEXTS)
    .superRefine((texts, context) => {
      const characters = texts.reduce((sum, text) => sum + text.length, 0);
      if (characters > MAX_SCORE_BATCH_CHARACTERS) {
        context.addIssue({
          code: 'custom',
          message: `texts hold ${characters} characters in all; one call scores at most ${MAX_SCORE_BATCH_CHARACTERS} (split the batch)`,
        });
      }
    }),
});

/** How `models.score` picked its version: the `ref` given, the active version, or the latest (no ref given and no active version). */
export type ScoreVersionChoice = (typeof SCORE_VERSION_CHOICES)[number];

export const modelOutput = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  metadata: storedJson<Record<string, unknown>>(),
  active: z.boolean(),
  archivedAt: z.date().nullable(),
  parentModel: z.string().nullable(),
  latestVersion: z.number(),
  activeVersion: z.number().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type ModelOutput = z.infer<typeof modelOutput>;
export const modelPageOutput = pageOutput(modelOutput);

export const versionOutput = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number(),
  status: z.string(),
  description: z.string(),
  metrics: storedJson<Record<string, number>>(),
  /** The gate report stored when the version was created. */
  validation: storedJson(),
  tags: z.array(z.string()),
  aliases: z.array(z.string()),
  active: z.boolean(),
  trainingJobId: z.string().nullable(),
  datasetSnapshotId: z.string().nullable(),
  parentVersion: z.object({ model: z.string(), version: z.number() }).nullable(),
  /** The first VERSION_ARTIFACT_IDS_SHOWN of its artifacts' ids, in id order; all of them: `artifacts.list({ modelVersionId })`. */
  artifactIds: z.array(z.string()),
  /** How many artifacts the version holds. */
  artifactCount: z.number(),
  /** Set on versions pushed here or pulled from elsewhere: origin server, snapshot manifest, job. */
  provenance: storedJson(),
  createdAt: z.date(),
});
export type VersionOutput = z.infer<typeof versionOutput>;
export const versionPageOutput = pageOutput(versionOutput);

/** `models.setTags`: the model's record when its tags changed, or the version's. */
export const setTagsOutput = z.object({ model: modelOutput.nullable(), version: versionOutput.nullable() });
export const removeAliasOutput = z.object({ removed: z.literal(true) });
export const setActiveOutput = z.object({ model: z.string(), activeVersion: z.number().nullable() });

/** One entry of a model's history (`models.events`): what changed, who changed it, when. */
export const modelEventOutput = z.object({ id: z.string(), type: z.string(), actor: z.string(), data: storedJson(), createdAt: z.date() });
export const modelEventPageOutput = pageOutput(modelEventOutput);

export const LINEAGE_NODE_KINDS = ['snapshot', 'job', 'artifact', 'version'] as const;
/** `reproduced_by`: a version to a job that re-ran its training (jobs.reproduce). */
export const LINEAGE_EDGE_KINDS = ['trained_on', 'produced', 'packaged_in', 'fine_tuned_into', 'reproduced_by'] as const;
export const lineageGraphOutput = z.object({
  nodes: z.array(z.object({ id: z.string(), kind: z.enum(LINEAGE_NODE_KINDS), label: z.string() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), kind: z.enum(LINEAGE_EDGE_KINDS) })),
});
export type LineageGraphOutput = z.infer<typeof lineageGraphOutput>;

export const SCORE_VERSION_CHOICES = ['ref', 'active', 'latest'] as const;
export const scoreOutput = z.object({
  model: z.string(),
  version: z.number(),
  /** Which version scored: the `ref` given, the active one, or the latest (no ref, no active version). */
  chosenBy: z.enum(SCORE_VERSION_CHOICES),
  scores: z.array(z.number()),
});

/** `models.deleteVersion`: the version and its artifact records are gone; their blobs go at the next garbage collection unless something else uses them. */
export const deletedVersionOutput = z.object({ deleted: z.literal(true), model: z.string(), version: z.number(), artifactsDeleted: z.number() });
