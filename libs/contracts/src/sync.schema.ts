import { z } from 'zod';
import { artifactName, artifactType, sha256Schema } from './artifacts.schema';
import { JSON_LIMITS, jsonValue, LIMITS } from './common.schema';
import { metadata, metrics, modelName, tags, versionRef } from './registry.schema';

export const TOKEN_SCOPES = ['read', 'write', 'admin'] as const;
export const tokenScope = z.enum(TOKEN_SCOPES);
export type TokenScope = z.infer<typeof tokenScope>;

export const remoteName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'use lowercase letters, digits, _ and -, starting with a letter');

export const addRemoteInput = z.strictObject({
  name: remoteName,
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2_048),
  token: z
    .string()
    .min(16)
    .max(1_024)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
});
export const remoteRefInput = z.strictObject({ name: remoteName });

export const pushInput = z.strictObject({ remote: remoteName, model: modelName, ref: versionRef });
export const pullInput = z.strictObject({ remote: remoteName, model: modelName, ref: versionRef });
export const syncStatusInput = z.strictObject({ limit: z.number().int().min(1).max(200).default(50) });
export const outboxIdInput = z.strictObject({ id: z.uuid() });

/** Everything a registry needs to recreate a version elsewhere, except the blob bytes. */
export const versionBundle = z.strictObject({
  model: z.strictObject({ name: modelName, description: z.string().max(LIMITS.descriptionLength), tags, metadata }),
  version: z.strictObject({
    version: z.number().int().min(1),
    description: z.string().max(LIMITS.descriptionLength),
    metrics,
    tags,
    validation: jsonValue({ maxBytes: 4 * JSON_LIMITS.objectBytes }).optional(),
  }),
  artifacts: z
    .array(
      z.strictObject({ name: artifactName, type: artifactType, mediaType: z.string().max(128), sha256: sha256Schema, size: z.number().int().min(0), metadata }),
    )
    .max(10_000),
  /** The dataset snapshot's manifest (not its data), the training job and the parent version. */
  lineage: z.strictObject({
    datasetSnapshot: z
      .strictObject({
        id: z.uuid(),
        name: z.string().max(LIMITS.nameLength),
        blobSha256: sha256Schema,
        totalCount: z.number().int().min(0),
        trainCount: z.number().int().min(0),
        validationCount: z.number().int().min(0),
        filter: jsonValue({ maxBytes: JSON_LIMITS.objectBytes }),
        seed: z.number().int(),
        validationFraction: z.number(),
        createdAt: z.string().max(64),
      })
      .nullable(),
    trainingJob: z
      .strictObject({
        id: z.uuid(),
        name: z.string().max(LIMITS.nameLength),
        trainer: jsonValue({ maxBytes: 2 * 1024 * 1024 }),
        hyperparameters: jsonValue({ maxBytes: JSON_LIMITS.objectBytes }),
      })
      .nullable(),
    parentVersion: z.strictObject({ model: modelName, version: z.number().int().min(1) }).nullable(),
  }),
  /** Where the version was made (registry URL or "local") and its number there. */
  origin: z.strictObject({ registry: z.string().max(2_048), model: modelName, version: z.number().int().min(1) }),
});
export type VersionBundle = z.infer<typeof versionBundle>;

// Remote-side procedures (called by another Trainyard's sync worker).
export const missingBlobsInput = z.strictObject({ hashes: z.array(sha256Schema).max(10_000) });
export const startUploadInput = z.strictObject({
  sha256: sha256Schema,
  size: z
    .number()
    .int()
    .min(0)
    .max(5 * 1024 ** 4),
});
export const completeUploadInput = z.strictObject({
  sessionId: z.uuid(),
  parts: z.array(z.strictObject({ number: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) })).max(10_000),
});
export const receiveVersionInput = z.strictObject({ idempotencyKey: z.string().min(8).max(200), bundle: versionBundle });
export const describeVersionInput = z.strictObject({ model: modelName, ref: versionRef });
