import { DomainError, installPath } from '@trainyard/core';
import { z } from 'zod';

/** A trainer that ships with Trainyard: its hyperparameter schema and how to start it. */
export interface BuiltinTrainer {
  name: string;
  description: string;
  hyperparameters: z.ZodType<Record<string, unknown>>;
  /** Arguments to the Node runtime (script and flags); the job directory arrives in TRAINYARD_JOB_DIR. */
  nodeArgs: readonly string[];
  /** It cannot run without a dataset snapshot holding training pairs: `jobs.create` refuses such a job. */
  needsTrainingData?: boolean;
}

/**
 * How built-in trainers are started: a Node executable, arguments before the trainer's own, and
 * what it needs in its environment. In plain Node that is process.execPath. Inside the desktop
 * app process.execPath is the Electron binary, which cannot act as Node (its runAsNode fuse is
 * off): the desktop injects its own runtime — the app's binary in trainer-host mode
 * (apps/desktop/src/server-launch.ts; createTrainerCatalog(extra, { runtime })).
 */
export interface NodeRuntime {
  execPath: string;
  /** Put before the trainer's nodeArgs (the desktop's trainer-host switch). */
  args?: readonly string[];
  /** Added to the trainer's environment (after the pass-through list, before the protocol's variables). */
  env?: Readonly<Record<string, string>>;
}

export const defaultNodeRuntime = (): NodeRuntime => ({ execPath: process.execPath, env: {} });

const exampleTrainer: BuiltinTrainer = {
  name: 'example',
  description: 'The protocol example (plain Node.js): counts its training lines, reports metrics, checkpoints, writes a model file.',
  hyperparameters: z.strictObject({
    epochs: z.number().int().min(1).max(1_000).default(3),
    stepDelayMs: z.number().int().min(0).max(60_000).default(0),
    failAtEpoch: z.number().int().min(1).optional(),
  }),
  nodeArgs: [installPath('libs', 'training', 'examples', 'example-trainer.mjs')],
};

export const createTrainerCatalog = (extra: readonly BuiltinTrainer[] = [], options: { runtime?: NodeRuntime } = {}) => {
  const trainers = new Map([exampleTrainer, ...extra].map((trainer) => [trainer.name, trainer]));
  const runtime = options.runtime ?? defaultNodeRuntime();
  return {
    list: () => [...trainers.values()],
    /** The one place a built-in trainer's command is made: the runtime's executable, then the trainer's arguments. */
    launch(name: string): { command: string[]; env: Record<string, string> } {
      return { command: [runtime.execPath, ...(runtime.args ?? []), ...this.get(name).nodeArgs], env: { ...runtime.env } };
    },
    get(name: string): BuiltinTrainer {
      const trainer = trainers.get(name);
      if (!trainer) {
        throw new DomainError('INVALID_ARGUMENT', `Unknown trainer ${name}; available: ${[...trainers.keys()].join(', ')}`, { trainer: name });
      }
      return trainer;
    },
    /** Hyperparameters validated (and defaulted) by the trainer's own schema. */
    hyperparameters(name: string, values: Record<string, unknown>): Record<string, unknown> {
      const parsed = this.get(name).hyperparameters.safeParse(values);
      if (!parsed.success) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `Invalid hyperparameters for ${name}: ${parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`,
          {
            issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
          },
        );
      }
      return parsed.data;
    },
  };
};

export type TrainerCatalog = ReturnType<typeof createTrainerCatalog>;
