import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { torchPython, torchUnavailableReason } from '@trainyard/test-services';
import { createTrainerCatalog, PYTHON_SDK_DIR } from '@trainyard/training';
import { describe, expect, it } from 'vitest';
import { pytorchTextClassifierTrainer, TEXT_CLASSIFIER_PYTHON_DIR } from './pytorch-text-classifier.builtin';

const python = torchPython();
const skip = python ? undefined : torchUnavailableReason();

describe.skipIf(skip)(`pytorch-text-classifier's Python unit tests${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('pass with the interpreter that has torch: model, encoding, hyperparameters, ONNX export, predict, exact resume on signals', () => {
    // libs/trainers/python/tests: `python3 -m unittest discover -s tests -t .` from that directory, the SDK on PYTHONPATH.
    const result = spawnSync(python ?? 'python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
      cwd: TEXT_CLASSIFIER_PYTHON_DIR,
      env: { PATH: process.env['PATH'], PYTHONPATH: [PYTHON_SDK_DIR, TEXT_CLASSIFIER_PYTHON_DIR].join(delimiter), PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(0);
    // unittest's summary, e.g. "Ran 19 tests in 5.2s … OK (skipped=1)": every test module was found and ran.
    expect(result.stderr).toMatch(/Ran (\d{2,}) tests/);
    expect(result.stderr).toMatch(/\nOK\b/);
  });
});

describe('pytorch-text-classifier hyperparameters: the TypeScript schema and its Python mirror agree', () => {
  const catalog = createTrainerCatalog([pytorchTextClassifierTrainer]);
  // hyperparameters.py imports no torch: any Python 3 checks it.
  const pythonValidate = (values: Record<string, unknown>): { ok: true; value: unknown } | { ok: false; error: string } => {
    const script =
      'import json, sys\nfrom text_classifier.hyperparameters import HyperparameterError, validate\n' +
      'try:\n    print(json.dumps({"ok": True, "value": validate(json.loads(sys.argv[1]))}))\n' +
      'except HyperparameterError as error:\n    print(json.dumps({"ok": False, "error": str(error)}))\n';
    const result = spawnSync(python ?? 'python3', ['-c', script, JSON.stringify(values)], {
      cwd: TEXT_CLASSIFIER_PYTHON_DIR,
      env: { PATH: process.env['PATH'], PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { ok: true; value: unknown } | { ok: false; error: string };
  };
  const typescriptValidate = (values: Record<string, unknown>) => {
    try {
      return { ok: true, value: catalog.hyperparameters('pytorch-text-classifier', values) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };

  it('fill in the same defaults and accept the same edge values', () => {
    const edges = { maxLength: 16, embeddingDim: 256, channels: 512, kernelSizes: [1, 3, 5, 15], dropout: 0.9, seed: 2 ** 31 - 1, threads: 256 };
    for (const values of [{}, edges, { kernelSizes: '3, 7' }, { learningRate: 1, weightDecay: 0, device: 'cuda' }]) {
      expect(pythonValidate(values)).toEqual(typescriptValidate(values));
    }
  });

  it('refuse the same values', () => {
    for (const values of [
      { epochs: 0 },
      { epochs: 201 },
      { batchSize: 2.5 },
      { learningRate: 0 },
      { maxLength: 8_193 },
      { kernelSizes: [3, 4] },
      { kernelSizes: [] },
      { kernelSizes: [1, 3, 5, 7, 9] },
      { kernelSizes: '3,x' },
      { dropout: 0.95 },
      { device: 'tpu' },
      { patience: true },
      { lr: 0.1 },
    ]) {
      const [fromPython, fromTypescript] = [pythonValidate(values), typescriptValidate(values)];
      expect(fromPython.ok, JSON.stringify(values)).toBe(false);
      expect(fromTypescript.ok, JSON.stringify(values)).toBe(false);
      expect(fromPython.ok === false && fromPython.error).toMatch(/^Invalid hyperparameters for pytorch-text-classifier: /);
    }
  });
});
