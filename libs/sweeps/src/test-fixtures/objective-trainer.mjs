#!/usr/bin/env node
// The sweeps' test objective: a trainer whose metric curve is a known function of its
// hyperparameters, so a test (and the benchmark) knows the best configuration and what ASHA
// should prune. loss(step) = quality + 1/step, with quality = (log10(lr) + 2)² + ((width − 64)/32)²:
// best at lr = 0.01, width = 64; curves never cross, so the ranking at any rung is the final one.
// Hyperparameters: lr, width, steps (default 9), stepMs (default 100); with `flakyDir`, the first
// run of a configuration whose `flaky` is true fails (a marker file in that directory remembers it).
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const jobDir = process.env.TRAINYARD_JOB_DIR;
const hp = JSON.parse(readFileSync(join(jobDir, 'input/config/hyperparameters.json'), 'utf8'));
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
const { lr, width, steps = 9, stepMs = 100 } = hp;
if (hp.flaky && hp.flakyDir) {
  const marker = join(hp.flakyDir, `${lr}-${width}`);
  if (!existsSync(marker)) {
    writeFileSync(marker, 'failed once\n');
    process.stderr.write(`flaky configuration lr=${lr} width=${width}: failing its first run\n`);
    process.exit(3);
  }
}
const quality = (Math.log10(lr) + 2) ** 2 + ((width - 64) / 32) ** 2;
for (let step = 1; step <= steps; step += 1) {
  await new Promise((resolve) => setTimeout(resolve, stepMs));
  emit({ type: 'metric', name: 'loss', step, value: quality + 1 / step });
  emit({ type: 'progress', fraction: step / steps });
}
mkdirSync(join(jobDir, 'output/model'), { recursive: true });
writeFileSync(join(jobDir, 'output/model/model.json'), JSON.stringify({ lr, width, quality }));
events.end(() => process.exit(0));
