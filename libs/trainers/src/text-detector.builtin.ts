import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuiltinTrainer } from '@trainyard/training';
import { textDetectorHyperparameters } from './text-detector/train';

// The trainer is TypeScript run by tsx; the loader is passed by absolute URL because the
// trainer's working directory is its job directory.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export const textDetectorTrainer: BuiltinTrainer = {
  name: 'text-detector',
  description:
    'Detects machine-written text: logistic regression over hashed character n-grams, trained with mini-batch Adam and L2 on the pairs (AI text = 1, humanized = 0).',
  hyperparameters: textDetectorHyperparameters,
  nodeArgs: ['--import', tsxLoader, fileURLToPath(new URL('./text-detector/main.ts', import.meta.url))],
  needsTrainingData: true,
};
