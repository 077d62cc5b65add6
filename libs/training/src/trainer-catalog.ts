import { fileURLToPath } from 'node:url';
import { DomainError } from '@trainyard/core';
import { z } from 'zod';

/** A trainer that ships with Trainyard: its hyperparameter schema and how to start it. */
export interface BuiltinTrainer {
  name: string;
  description: string;
  hyperparameters: z.ZodType<Record<string, unknown>>;
  /** Argument vector; the job directory arrives in TRAINYARD_JOB_DIR. */
  command: readonly string[];
}

const exampleTrainer: BuiltinTrainer = {
  name: 'example',
  description: 'The protocol example (plain Node.js): counts its training lines, reports metrics, checkpoints, writes a model file.',
  hyperparameters: z.strictObject({
    epochs: z.number().int().min(1).max(1_000).default(3),
    stepDelayMs: z.number().int().min(0).max(60_000).default(0),
    failAtEpoch: z.number().int().min(1).optional(),
  }),
  command: [process.execPath, fileURLToPath(new URL('../examples/example-trainer.mjs', import.meta.url))],
};

export const createTrainerCatalog = (extra: readonly BuiltinTrainer[] = []) => {
  const trainers = new Map([exampleTrainer, ...extra].map((trainer) => [trainer.name, trainer]));
  return {
    list: () => [...trainers.values()],
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
        throw new DomainError('INVALID_ARGUMENT', `Invalid hyperparameters for ${name}: ${parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`, {
          issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
        });
      }
      return parsed.data;
    },
  };
};

export type TrainerCatalog = ReturnType<typeof createTrainerCatalog>;
