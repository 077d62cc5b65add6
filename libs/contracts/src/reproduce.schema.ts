import { z } from 'zod';
import { storedJson } from './common.schema';
import { executorKind } from './jobs.schema';
import { modelName } from './registry.schema';

/** A file the trainer ran or read, by the path it was named with, and its content's SHA-256. */
export interface HashedFile {
  path: string;
  sha256: string;
}

/**
 * What ran (issue #27), recorded on each job when its trainer starts (`TrainingJob.trainerIdentity`)
 * and carried in a pushed version's lineage (`lineage.trainingJob.identity`). `packages` are the
 * versions the trainer itself reported on fd 3 (the Python SDK's `environment` event).
 */
export type TrainerIdentity = (
  | {
      kind: 'builtin';
      name: string;
      /** SHA-256 over the hashes of `files`, in order: the trainer's code as a whole. */
      codeSha256: string;
      /** The trainer's files actually executed, by install-relative path. */
      files: HashedFile[];
      projectVersion: string;
    }
  | {
      kind: 'command';
      command: string[];
      cwd: string | null;
      /**
       * The working directory's git checkout: HEAD's commit, whether tracked files differ from it
       * and, when they do, the SHA-256 of `git diff HEAD` (absent in identities recorded before it was); null outside git.
       */
      git: { commit: string; dirty: boolean; diffSha256?: string } | null;
      /** Each argument that is the path of an existing file (relative ones against cwd), hashed. */
      files: HashedFile[];
      projectVersion: string;
    }
) & { packages?: Record<string, string> };

const hashedFileSchema = z.looseObject({ path: z.string().max(4_096), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
const identityCommon = {
  files: z.array(hashedFileSchema).max(10_000),
  projectVersion: z.string().max(100),
  packages: z.record(z.string().max(256), z.string().max(256)).optional(),
};
/**
 * A recorded identity as read back (a job's, or one in a pulled version's lineage, which another
 * server wrote): checked before it is compared. Objects stay open: a newer server may record more.
 */
const trainerIdentitySchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('builtin'), name: z.string().max(200), codeSha256: z.string().regex(/^[0-9a-f]{64}$/), ...identityCommon }),
  z.looseObject({
    kind: z.literal('command'),
    command: z.array(z.string().max(65_536)).max(10_000),
    cwd: z.string().max(4_096).nullable(),
    git: z
      .looseObject({
        commit: z.string().max(100),
        dirty: z.boolean(),
        diffSha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
      })
      .nullable(),
    ...identityCommon,
  }),
]);

/** A stored identity, or null when none was recorded; `malformed` names what is wrong with one that does not read as an identity. */
export const readTrainerIdentity = (stored: unknown): { identity: TrainerIdentity | null; malformed: string | null } => {
  if (stored === null || stored === undefined) return { identity: null, malformed: null };
  const parsed = trainerIdentitySchema.safeParse(stored);
  if (parsed.success) return { identity: parsed.data as TrainerIdentity, malformed: null };
  return { identity: null, malformed: z.prettifyError(parsed.error).slice(0, 500) };
};

/** One way the trainer that would run here differs from the recorded one. */
export interface IdentityDifference {
  /** What differs: `command`, `cwd`, `code`, `file:<path>`, `git.commit`, `git.dirty`, `git.diff`, `package:<name>`, `projectVersion`, `trainer`. */
  field: string;
  recorded: string | null;
  here: string | null;
  /** Said in a sentence (what the CLI prints). */
  message: string;
}

const versionNumber = z.number().int().min(1);

/** `jobs.reproduce`: retrain a local version (pulled first by the CLI when `--remote` is given). */
export const reproduceInput = z.strictObject({
  model: modelName,
  version: versionNumber,
  /** Where the reproduction runs (default: local). */
  executor: executorKind.default('local'),
  /** Run even though the trainer here differs from the recorded one (the differences are reported). */
  allowDifferent: z.boolean().default(false),
  /**
   * Run a command trainer that was not run here (a pulled or pushed version's): re-running it
   * runs whatever command the version's pusher recorded on this machine, so it takes a yes.
   */
  allowCommand: z.boolean().default(false),
});
export type ReproduceInput = z.input<typeof reproduceInput>;

const differenceOutput = z.object({ field: z.string(), recorded: z.string().nullable(), here: z.string().nullable(), message: z.string() });

/** A reproduction started (`job` set) or refused (`refused`, with the differences and why). */
export const reproduceOutput = z.object({
  refused: z.boolean(),
  /** Why it was refused, when it was. */
  reason: z.string().nullable(),
  original: z.object({ versionId: z.string(), model: z.string(), version: z.number(), jobId: z.string().nullable() }),
  differences: z.array(differenceOutput),
  jobId: z.string().nullable(),
});
export type ReproduceOutput = z.infer<typeof reproduceOutput>;

export const reproductionInput = z.strictObject({ jobId: z.uuid() });

/**
 * How far a final metric of the reproduction may be from the original's and still count as
 * reproduced: |a − b| ≤ absolute + relative × |original|.
 */
export const METRIC_TOLERANCE = { absolute: 1e-6, relative: 1e-3 } as const;

/** `jobs.reproduction`: a reproduction job's report against its original version. */
export const reproductionOutput = z.object({
  jobId: z.string(),
  status: z.string(),
  reproducedFrom: z.object({ versionId: z.string(), model: z.string(), version: z.number() }),
  differences: z.array(differenceOutput),
  /** Null until the job has finished. */
  artifacts: z.array(z.object({ name: z.string(), original: z.string().nullable(), reproduced: z.string().nullable(), identical: z.boolean() })).nullable(),
  /** Every artifact of the version byte-identical (SHA-256 equal) to the reproduction's file of that name. */
  identical: z.boolean().nullable(),
  metrics: z.array(z.object({ name: z.string(), original: z.number().nullable(), reproduced: z.number().nullable(), withinTolerance: z.boolean() })).nullable(),
  metricsWithinTolerance: z.boolean().nullable(),
  tolerance: z.object({ absolute: z.number(), relative: z.number() }),
  /** One line: `byte-identical`, `metrics within tolerance`, `differs`, or the job's state. */
  verdict: z.string(),
});
export type ReproductionOutput = z.infer<typeof reproductionOutput>;

/** A stored identity passes through unwalked (bounded where it is written). */
export const trainerIdentityOutput = storedJson<TrainerIdentity | null>();
