import { entryNodeArgs, serverEntries } from '@trainyard/core';
import type { NodeBuiltinTrainer } from '@trainyard/training';
import { textDetectorHyperparameters } from './text-detector/train';

export const textDetectorTrainer: NodeBuiltinTrainer = {
  name: 'text-detector',
  description:
    'Detects machine-written text: logistic regression over hashed character n-grams, trained with mini-batch Adam and L2 on the pairs (AI text = 1, humanized = 0).',
  hyperparameters: textDetectorHyperparameters,
  // The built trainer (apps/server/dist), or from sources its TypeScript through tsx.
  nodeArgs: entryNodeArgs(serverEntries.textDetectorTrainer),
  needsTrainingData: true,
};
