import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torchPython } from '@trainyard/test-services';
import { pytorchTextClassifierTrainer } from '@trainyard/trainers';
import { createTrainerCatalog, startLocalExecution, type TrainerEvent } from '@trainyard/training';
import type { BenchRow } from './bench-row';
import { timeMs } from './stats';
import { trainerJobDir } from './trainer-job-dir';

const PAIRS = 20_000;
const EPOCHS = 3;

/**
 * The built-in pytorch-text-classifier, started exactly as the orchestrator starts it (the
 * catalog's command and PYTHONPATH) on a job directory laid out per PROTOCOL.md: 20 000 synthetic
 * pairs (4 in 5 for training), 3 epochs, default hyperparameters (maxLength 512, embedding 32,
 * 32 filters of widths 3 and 5, batch 32, every core). One run: it takes tens of seconds.
 */
export const pytorchBench = async (): Promise<BenchRow[]> => {
  const python = torchPython();
  if (!python) throw new Error('the pytorch suite needs a Python with torch and onnx (apt-get install python3-torch python3-onnx, or TRAINYARD_PYTHON)');
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-pytorch-'));
  try {
    const jobDir = trainerJobDir(root, 'job', { epochs: EPOCHS, patience: EPOCHS, device: 'cpu' }, PAIRS);
    const launch = createTrainerCatalog([pytorchTextClassifierTrainer], { python: { executable: python } }).launch(pytorchTextClassifierTrainer.name);
    const events: TrainerEvent[] = [];
    let ok = false;
    const ms = await timeMs(async () => {
      const execution = startLocalExecution({
        jobDir,
        command: launch.command,
        env: { PATH: process.env['PATH'], ...launch.env },
        graceMs: 1_000,
        onEvent: (event) => void events.push(event),
        onBadEvent: () => undefined,
      });
      const outcome = await execution.done;
      ok = outcome.kind === 'exited' && outcome.exitCode === 0;
    });
    if (!ok) throw new Error(`training failed: ${readFileSync(join(jobDir, 'logs', 'stderr.log'), 'utf8')}`);
    const accuracy = events.flatMap((e) => (e.type === 'metrics' ? e.points.filter(([name]) => name === 'val_accuracy').map(([, , v]) => v) : []));
    const threads = events.map((e) => (e.type === 'log' ? /(\d+) threads/.exec(e.message)?.[1] : undefined)).find(Boolean);
    return [
      {
        benchmark: `pytorch-text-classifier training, ${PAIRS.toLocaleString('en')} pairs × ${EPOCHS} epochs, defaults, CPU with ${threads ?? '?'} threads (child process, incl. start-up and ONNX export; final val_accuracy ${accuracy.at(-1)?.toFixed(3) ?? '?'})`,
        value: `${(ms / 1000).toFixed(1)} s`,
        target: 'reported (≤ 180 s)',
        pass: ms <= 180_000,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
