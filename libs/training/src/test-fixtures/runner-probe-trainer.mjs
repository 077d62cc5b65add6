#!/usr/bin/env node
// A trainer for the runner's tests (apps/server/src/runner-jobs.int.test.ts): numbered metric
// points, stdout and stderr lines and checkpoints per epoch, a model file and a reported
// artifact; it fails with a traceback when asked, and refuses to run if the job token reached it.
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const jobDir = process.env.TRAINYARD_JOB_DIR;
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
const hyperparameters = JSON.parse(readFileSync(join(jobDir, 'input/config/hyperparameters.json'), 'utf8'));
const epochs = hyperparameters.epochs ?? 3;
const leaked = Object.entries(process.env).filter(([name, value]) => name === 'TRAINYARD_JOB_TOKEN' || String(value).startsWith('tyj_'));
if (leaked.length > 0) {
  console.error(`the job token reached the trainer: ${leaked.map(([name]) => name).join(', ')}`);
  process.exit(3);
}
const train = join(jobDir, 'input/data/train/data.jsonl');
const trainLines = existsSync(train) ? readFileSync(train, 'utf8').split('\n').filter(Boolean).length : 0;
console.log(`probe trainer: ${trainLines} training lines, ${epochs} epochs`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
mkdirSync(join(jobDir, 'checkpoints'), { recursive: true });
for (let epoch = 1; epoch <= epochs; epoch += 1) {
  await sleep(hyperparameters.stepDelayMs ?? 0);
  if (hyperparameters.failAtEpoch === epoch) throw new Error(`probe trainer failed on purpose at epoch ${epoch}`);
  emit({ type: 'metric', name: 'train_loss', step: epoch, value: 1 / (epoch + 1) });
  emit({ type: 'progress', fraction: epoch / epochs, message: `epoch ${epoch}/${epochs}` });
  console.log(`stdout line of epoch ${epoch}`);
  console.error(`stderr line of epoch ${epoch}`);
  writeFileSync(join(jobDir, 'checkpoints', `epoch-${epoch}.json`), JSON.stringify({ epoch }));
  emit({ type: 'checkpoint', path: `checkpoints/epoch-${epoch}.json`, step: epoch });
  if (stopping) {
    events.end(() => process.exit(143));
    await sleep(60_000);
  }
}
mkdirSync(join(jobDir, 'output/model'), { recursive: true });
writeFileSync(join(jobDir, 'output/model/model.bin'), Buffer.from(`weights after ${epochs} epochs on ${trainLines} lines\n`.repeat(1000)));
writeFileSync(join(jobDir, 'notes.txt'), 'extra notes');
emit({ type: 'artifact', path: 'notes.txt', kind: 'metadata' });
events.end(() => process.exit(hyperparameters.exitCode ?? 0));
