import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDetector, syntheticPairs, textDetectorTrainer } from '@trainyard/trainers';
import { startLocalExecution } from '@trainyard/training';
import type { BenchRow } from './bench-row';
import { median, repeat, timeMs } from './stats';
import { trainerJobDir } from './trainer-job-dir';

const PAIRS = 20_000;

/** Trains the real built-in trainer in a child process on a job directory laid out per PROTOCOL.md. */
const trainOnce = async (root: string): Promise<{ ms: number; jobDir: string }> => {
  const jobDir = trainerJobDir(root, `job-${Math.random().toString(36).slice(2)}`, { epochs: 5, hashBits: 18, patience: 5 }, PAIRS);
  let ok = false;
  const ms = await timeMs(async () => {
    const execution = startLocalExecution({
      jobDir,
      command: [process.execPath, ...textDetectorTrainer.nodeArgs],
      env: { PATH: process.env['PATH'] },
      graceMs: 1_000,
      onEvent: () => undefined,
      onBadEvent: () => undefined,
    });
    const outcome = await execution.done;
    ok = outcome.kind === 'exited' && outcome.exitCode === 0;
  });
  if (!ok) throw new Error(`training failed: ${readFileSync(join(jobDir, 'logs', 'stderr.log'), 'utf8')}`);
  return { ms, jobDir };
};

export const textDetectorBench = async (): Promise<BenchRow[]> => {
  const root = mkdtempSync(join(tmpdir(), 'trainyard-bench-detector-'));
  try {
    const runs = [];
    for (let i = 0; i < 3; i += 1) runs.push(await trainOnce(root));
    const model = join(runs[0]?.jobDir ?? '', 'output', 'model');
    const detector = loadDetector(readFileSync(join(model, 'config.json'), 'utf8'), readFileSync(join(model, 'model.bin')));
    const base = syntheticPairs(200, 77).flatMap((p) => [p.aiText, p.humanizedText]);
    const texts = Array.from({ length: 10_000 }, (_, i) => `${base[i % base.length]} ${base[(i * 7) % base.length]}`.slice(0, 500).padEnd(500, ' x'));
    detector.score(texts.slice(0, 100)); // warm-up
    const scoring = await repeat(5, () => timeMs(async () => detector.score(texts)));
    const rate = texts.length / (median(scoring) / 1000);
    const size = statSync(join(model, 'model.bin')).size + statSync(join(model, 'config.json')).size;
    return [
      {
        benchmark: `text-detector training, ${PAIRS.toLocaleString('en')} pairs × 5 epochs, 2^18 features (child process, incl. start-up)`,
        value: `${(median(runs.map((r) => r.ms)) / 1000).toFixed(1)} s`,
        target: '≤ 30 s',
        pass: median(runs.map((r) => r.ms)) <= 30_000,
      },
      {
        benchmark: 'scoring texts of ~500 characters',
        value: `${Math.round(rate).toLocaleString('en')} texts/s`,
        target: '≥ 10 000 texts/s',
        pass: rate >= 10_000,
      },
      {
        benchmark: 'model files for 2^18 features (model.bin + config.json)',
        value: `${(size / 1024 / 1024).toFixed(2)} MB`,
        target: '≤ 2 MB',
        pass: size <= 2 * 1024 * 1024,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
