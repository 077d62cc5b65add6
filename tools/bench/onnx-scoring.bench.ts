import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadDetector,
  loadOnnxScorer,
  parseScoringContract,
  pytorchTextClassifierTrainer,
  syntheticPairs,
  TEXT_CLASSIFIER_PYTHON_DIR,
  textDetectorTrainer,
} from '@trainyard/trainers';
import { createTrainerCatalog, startLocalExecution } from '@trainyard/training';
import { torchPython } from '@trainyard/test-services';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';
import { trainerJobDir } from './trainer-job-dir';

const TEXTS = 10_000;
const THREADS = 2; // the machine's cores, for ONNX Runtime and PyTorch alike

/** Runs a built-in trainer as the orchestrator would (child process, the catalog's command); returns its model directory. */
const train = async (catalog: ReturnType<typeof createTrainerCatalog>, name: string, dir: string): Promise<string> => {
  const launch = catalog.launch(name);
  const execution = startLocalExecution({
    jobDir: dir,
    command: launch.command,
    env: { PATH: process.env['PATH'], ...launch.env },
    graceMs: 1_000,
    onEvent: () => undefined,
    onBadEvent: () => undefined,
  });
  const outcome = await execution.done;
  if (outcome.kind !== 'exited' || outcome.exitCode !== 0) throw new Error(`${name} failed: ${readFileSync(join(dir, 'logs', 'stderr.log'), 'utf8')}`);
  return join(dir, 'output', 'model');
};

/** ~500-character texts, as a detector scores them. */
const benchTexts = (): string[] => {
  const base = syntheticPairs(200, 77).flatMap((p) => [p.aiText, p.humanizedText]);
  return Array.from({ length: TEXTS }, (_, i) => `${base[i % base.length]} ${base[(i * 7) % base.length]}`.slice(0, 500).padEnd(500, ' x'));
};

/** PyTorch's own inference of the model (model.pt, the same encoding), timed inside Python: texts/s, the median of 5 runs at its better batch size. */
const pytorchRate = (python: string, modelDir: string, textsFile: string): number => {
  const script = `
import json, sys, time, torch
from pathlib import Path
from text_classifier.export import load_model, predict
torch.set_num_threads(${THREADS})
model, max_length = load_model(Path(sys.argv[1]))
texts = json.load(open(sys.argv[2]))
best = 0.0
for batch_size in (32, 256):
    predict(model, max_length, texts[:256], batch_size)
    runs = []
    for _ in range(5):
        started = time.perf_counter(); predict(model, max_length, texts, batch_size); runs.append(time.perf_counter() - started)
    runs.sort()
    best = max(best, len(texts) / runs[2])
print(best)
`;
  // PyTorch at its best: the faster of two batch sizes, its threads sleeping while they wait (as the trainer runs it).
  const output = execFileSync(python, ['-c', script, modelDir, textsFile], {
    env: { ...process.env, PYTHONPATH: TEXT_CLASSIFIER_PYTHON_DIR, OMP_WAIT_POLICY: 'PASSIVE' },
  }).toString();
  return Number(output.trim());
};

/**
 * Scoring ~500-character texts with the PyTorch example's ONNX export through ONNX Runtime (what
 * models.score runs), against PyTorch's own inference of the same model and the built-in
 * detector, in the same run.
 */
export const onnxScoringBench = async (): Promise<BenchRow[]> => {
  const python = torchPython();
  if (!python) throw new Error('the onnx-scoring bench needs a Python with torch and onnx (apt-get install python3-torch python3-onnx, or TRAINYARD_PYTHON)');
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-onnx-'));
  try {
    const catalog = createTrainerCatalog([textDetectorTrainer, pytorchTextClassifierTrainer], { python: { executable: python } });
    // The example model at its default architecture; one epoch on 2 000 pairs is enough to time inference.
    const pytorchModel = await train(catalog, 'pytorch-text-classifier', trainerJobDir(root, 'pytorch', { epochs: 1, threads: THREADS }, 2_000));
    const detectorModel = await train(catalog, 'text-detector', trainerJobDir(root, 'detector', { epochs: 1 }, 2_000));
    const texts = benchTexts();
    const textsFile = join(root, 'texts.json');
    writeFileSync(textsFile, JSON.stringify(texts));

    const contract = parseScoringContract(readFileSync(join(pytorchModel, 'scoring.json')));
    const onnx = await loadOnnxScorer(readFileSync(join(pytorchModel, 'model.onnx')), contract, { threads: THREADS });
    await onnx.score(texts.slice(0, 256)); // warm-up
    const onnxRate = TEXTS / (median(await repeat(5, () => timeMs(() => onnx.score(texts)))) / 1000);
    await onnx.release();
    const torchRate = pytorchRate(python, pytorchModel, textsFile);

    const detector = loadDetector(readFileSync(join(detectorModel, 'config.json'), 'utf8'), readFileSync(join(detectorModel, 'model.bin')));
    detector.score(texts.slice(0, 100));
    const detectorRate = TEXTS / (median(await repeat(5, () => timeMs(async () => detector.score(texts)))) / 1000);
    const perSecond = (rate: number): string => `${Math.round(rate).toLocaleString('en')} texts/s`;
    return [
      {
        benchmark: `ONNX scoring (ONNX Runtime, CPU, ${THREADS} threads) of the PyTorch example (maxLength ${contract.input.maxLength}), ~500-character texts`,
        value: perSecond(onnxRate),
        baseline: `PyTorch's own inference of the same model: ${perSecond(torchRate)}`,
        ratio: `${(onnxRate / torchRate).toFixed(2)}×`,
        target: '≥ 1× PyTorch and ≥ 5 000 texts/s',
        pass: onnxRate >= torchRate && onnxRate >= 5_000,
      },
      {
        benchmark: 'the same ONNX scoring against the built-in text detector (2^18 features) in the same run',
        value: perSecond(onnxRate),
        baseline: `built-in detector: ${perSecond(detectorRate)}`,
        ratio: `${(onnxRate / detectorRate).toFixed(2)}×`,
        target: 'reported (the detector: ≥ 20 000 texts/s)',
        pass: detectorRate >= 20_000,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
