import { join } from 'node:path';
import { seedSchema } from '@trainyard/contracts';
import { installPath } from '@trainyard/core';
import type { PythonBuiltinTrainer } from '@trainyard/training';
import { z } from 'zod';

/** The trainer's Python package (text_classifier) and its entry script live here. */
export const TEXT_CLASSIFIER_PYTHON_DIR = installPath('libs', 'trainers', 'python');

/** Odd widths 1..15: each position's output stays aligned with its byte, so padding can be masked out. */
const kernelSizes = z
  .array(z.number().int().min(1).max(15))
  .min(1)
  .max(4)
  .refine((widths) => widths.every((width) => width % 2 === 1), { message: 'kernel widths must be odd' });

/**
 * The same names, bounds and defaults as libs/trainers/python/text_classifier/hyperparameters.py,
 * which checks them again (tested against each other). `kernelSizes` also takes "3,5" (the web
 * form's text field).
 */
export const pytorchTextClassifierHyperparameters = z.strictObject({
  epochs: z.number().int().min(1).max(200).default(5),
  batchSize: z.number().int().min(1).max(1_024).default(32),
  learningRate: z.number().positive().max(1).default(0.003),
  weightDecay: z.number().min(0).max(1).default(0),
  /** The ONNX input's width. */
  maxLength: z.number().int().min(16).max(8_192).default(512).describe('bytes of each text the model reads; longer texts are cut'),
  embeddingDim: z.number().int().min(4).max(256).default(32),
  /** Convolution filters per kernel width. */
  channels: z.number().int().min(4).max(512).default(32),
  kernelSizes: z
    .union([
      kernelSizes,
      z
        .string()
        .max(64)
        .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'kernel widths: comma-separated integers, e.g. 3,5')
        .transform((text) => text.split(',').map(Number))
        .pipe(kernelSizes),
    ])
    .default([3, 5])
    .describe('convolution widths, odd, comma-separated (default 3,5)'),
  dropout: z.number().min(0).max(0.9).default(0.1),
  patience: z.number().int().min(1).max(100).default(3).describe('stop after this many epochs without a better val_loss'),
  seed: seedSchema,
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto').describe('auto: CUDA when available, else the CPU'),
  threads: z.number().int().min(0).max(256).default(0).describe('torch threads; 0 = every core the process may use'),
});
export type PytorchTextClassifierHyperparameters = z.output<typeof pytorchTextClassifierHyperparameters>;

export const pytorchTextClassifierTrainer: PythonBuiltinTrainer = {
  name: 'pytorch-text-classifier',
  description:
    'Detects machine-written text with PyTorch: a small CNN over UTF-8 bytes (AI text = 1, humanized = 0), CPU or CUDA; exports model.onnx + scoring.json. Needs an interpreter with torch (TRAINYARD_PYTHON).',
  hyperparameters: pytorchTextClassifierHyperparameters,
  python: { script: join(TEXT_CLASSIFIER_PYTHON_DIR, 'train_text_classifier.py'), path: [TEXT_CLASSIFIER_PYTHON_DIR] },
  needsTrainingData: true,
};
