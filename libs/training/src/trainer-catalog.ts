import { delimiter } from 'node:path';
import { DomainError, installPath } from '@trainyard/core';
import { z } from 'zod';

interface BuiltinTrainerBase {
  name: string;
  description: string;
  hyperparameters: z.ZodType<Record<string, unknown>>;
  /** It cannot run without a dataset snapshot holding training pairs: `jobs.create` refuses such a job. */
  needsTrainingData?: boolean;
}

/** A built-in trainer in Node: started by the Node runtime; the job directory arrives in TRAINYARD_JOB_DIR. */
export interface NodeBuiltinTrainer extends BuiltinTrainerBase {
  /** Arguments to the Node runtime (script and flags). */
  nodeArgs: readonly string[];
  python?: never;
}

/** A built-in trainer in Python: its script, run by the configured interpreter (TRAINYARD_PYTHON). */
export interface PythonBuiltinTrainer extends BuiltinTrainerBase {
  python: {
    /** The script (absolute: installPath), run as `<interpreter> <script>` in the job directory. */
    script: string;
    /** Directories its imports come from, put on PYTHONPATH after the trainer SDK's (absolute: installPath). */
    path: readonly string[];
  };
  nodeArgs?: never;
}

/** A trainer that ships with Trainyard: its hyperparameter schema and how to start it. */
export type BuiltinTrainer = NodeBuiltinTrainer | PythonBuiltinTrainer;

/** The interpreter Python built-ins run with, and what else goes on their PYTHONPATH. */
export interface PythonRuntime {
  /** TRAINYARD_PYTHON: a name on PATH or a path (default `python3`). */
  executable: string;
  /** The server's own PYTHONPATH entries, kept after the trainer's (an operator's site directory). */
  path?: readonly string[];
}

/** The Python trainer SDK (libs/trainer-sdk-python): on every Python built-in's PYTHONPATH. */
export const PYTHON_SDK_DIR = installPath('libs', 'trainer-sdk-python');

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

const exampleTrainer: NodeBuiltinTrainer = {
  name: 'example',
  description: 'The protocol example (plain Node.js): counts its training lines, reports metrics, checkpoints, writes a model file.',
  hyperparameters: z.strictObject({
    epochs: z.number().int().min(1).max(1_000).default(3),
    stepDelayMs: z.number().int().min(0).max(60_000).default(0),
    failAtEpoch: z.number().int().min(1).optional(),
  }),
  nodeArgs: [installPath('libs', 'training', 'examples', 'example-trainer.mjs')],
};

export const createTrainerCatalog = (extra: readonly BuiltinTrainer[] = [], options: { runtime?: NodeRuntime; python?: PythonRuntime } = {}) => {
  const trainers = new Map<string, BuiltinTrainer>([exampleTrainer, ...extra].map((trainer) => [trainer.name, trainer]));
  const runtime = options.runtime ?? defaultNodeRuntime();
  const python = options.python ?? { executable: 'python3' };
  return {
    list: () => [...trainers.values()],
    /**
     * The one place a built-in trainer's command is made: the Node runtime's executable, then the
     * trainer's arguments; or the Python interpreter and the trainer's script, with the SDK's and
     * the trainer's directories on PYTHONPATH (install paths: the same from sources, the build or
     * a Slurm node sharing the installation).
     */
    launch(name: string): { command: string[]; env: Record<string, string> } {
      const trainer = this.get(name);
      if (trainer.python) {
        const path = [PYTHON_SDK_DIR, ...trainer.python.path, ...(python.path ?? [])];
        return { command: [python.executable, trainer.python.script], env: { PYTHONPATH: path.join(delimiter) } };
      }
      return { command: [runtime.execPath, ...(runtime.args ?? []), ...trainer.nodeArgs], env: { ...runtime.env } };
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
