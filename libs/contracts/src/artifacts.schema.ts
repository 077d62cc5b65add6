import { z } from 'zod';
import { LIMITS, pageInput, pageOutput, scalarMetadata, storedJson } from './common.schema';

export const ARTIFACT_TYPES = ['model', 'checkpoint', 'metadata', 'tokenizer', 'config', 'dataset', 'logs'] as const;
export const artifactType = z.enum(ARTIFACT_TYPES);

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hexadecimal characters');

/** Names are display metadata only and never become paths, but they still get sane bounds. */
export const artifactName = z
  .string()
  .min(1)
  .max(LIMITS.nameLength)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters')
  // A lone surrogate is not Unicode text: the database refuses it (records go in as JSON).
  .refine((value) => !/\p{Cs}/u.test(value), 'must be well-formed Unicode (no lone surrogate)');

const metadataSchema = scalarMetadata;

export const registerArtifactInput = z.strictObject({
  sha256: sha256Schema,
  name: artifactName,
  type: artifactType,
  mediaType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/)
    .max(128)
    .default('application/octet-stream'),
  trainingJobId: z.uuid().optional(),
  modelVersionId: z.uuid().optional(),
  metadata: metadataSchema.default({}),
});
export type RegisterArtifactInput = z.infer<typeof registerArtifactInput>;

/** Artifacts one `artifacts.registerMany` call takes: a version of 100 000 small files registers in 100 requests, not 100 000. */
export const REGISTER_MANY_LIMIT = 1_000;
export const registerArtifactsInput = z.strictObject({
  artifacts: z
    .array(registerArtifactInput.omit({ trainingJobId: true, modelVersionId: true }))
    .min(1)
    .max(REGISTER_MANY_LIMIT),
  trainingJobId: z.uuid().optional(),
  modelVersionId: z.uuid().optional(),
});
export type RegisterArtifactsInput = z.infer<typeof registerArtifactsInput>;
/** `artifacts.registerMany`: the new artifacts' ids, in the input's order. */
export const registeredArtifactsOutput = z.object({ ids: z.array(z.string()) });

export const artifactIdInput = z.strictObject({ id: z.uuid() });

export const listArtifactsInput = z.strictObject({
  type: artifactType.optional(),
  trainingJobId: z.uuid().optional(),
  modelVersionId: z.uuid().optional(),
  sha256: sha256Schema.optional(),
  ...pageInput,
});
export type ListArtifactsInput = z.infer<typeof listArtifactsInput>;

export const gcInput = z.strictObject({ dryRun: z.boolean().default(true) });

export const artifactOutput = z.object({
  id: z.string(),
  sha256: z.string(),
  name: z.string(),
  type: artifactType,
  mediaType: z.string(),
  size: z.number(),
  metadata: storedJson<Record<string, unknown>>(),
  trainingJobId: z.string().nullable(),
  modelVersionId: z.string().nullable(),
  createdAt: z.date(),
  /** Set by `artifacts.get`: true when a read found the blob's bytes do not match its hash. */
  corrupt: z.boolean().optional(),
});
export type ArtifactOutput = z.infer<typeof artifactOutput>;

export const artifactPageOutput = pageOutput(artifactOutput);

/** `artifacts.gc`: what a mark-and-sweep of unreferenced blobs found (and deleted, unless a dry run). */
export const gcReportOutput = z.object({
  dryRun: z.boolean(),
  scanned: z.number(),
  /** Blobs nothing references and older than the grace period: deleted, or would be. */
  unreferenced: z.array(z.object({ sha256: z.string(), size: z.number() })),
  bytes: z.number(),
  /** Unreferenced but younger than the grace period (an upload whose record is on its way). */
  keptYoung: z.number(),
});
export type GcReport = z.infer<typeof gcReportOutput>;
