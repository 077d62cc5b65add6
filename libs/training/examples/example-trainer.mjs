#!/usr/bin/env node
// A complete Trainyard trainer in plain Node.js, with no dependencies: the reference for
// PROTOCOL.md and the trainer the orchestrator tests run.
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const jobDir = process.env.TRAINYARD_JOB_DIR;
if (!jobDir) {
  console.error('TRAINYARD_JOB_DIR is not set');
  process.exit(2);
}
// Events go to file descriptor 3, one JSON object per line.
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);

const hyperparameters = JSON.parse(readFileSync(join(jobDir, 'input/config/hyperparameters.json'), 'utf8'));
const job = JSON.parse(readFileSync(join(jobDir, 'input/config/job.json'), 'utf8'));
const epochs = hyperparameters.epochs ?? 3;

const countLines = async (file) => {
  if (!existsSync(file)) return 0;
  let lines = 0;
  for await (const _ of createInterface({ input: createReadStream(file) })) lines += 1;
  return lines;
};
const trainLines = await countLines(join(jobDir, 'input/data/train/data.jsonl'));
const validationLines = await countLines(join(jobDir, 'input/data/validation/data.jsonl'));

// Resume: a retried job finds its latest checkpoint here.
const checkpointDir = join(jobDir, 'checkpoints');
mkdirSync(checkpointDir, { recursive: true });
const previous = readdirSync(checkpointDir)
  .filter((name) => /^epoch-\d+\.json$/.test(name))
  .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)))
  .at(-1);
let epoch = previous ? JSON.parse(readFileSync(join(checkpointDir, previous), 'utf8')).epoch : 0;
emit({
  type: 'log',
  level: 'info',
  message: `job ${job.id} attempt ${job.attempt}: ${trainLines} training and ${validationLines} validation lines, starting after epoch ${epoch}`,
});
console.log(`example trainer starting at epoch ${epoch + 1} of ${epochs}`);

const checkpoint = () => {
  const file = join(checkpointDir, `epoch-${epoch}.json`);
  writeFileSync(file, JSON.stringify({ epoch }));
  emit({ type: 'checkpoint', path: `checkpoints/epoch-${epoch}.json`, step: epoch });
};
process.on('SIGTERM', () => {
  // Cooperative cancel: save progress, then leave within the grace period.
  checkpoint();
  events.end(() => process.exit(143));
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
while (epoch < epochs) {
  epoch += 1;
  if (hyperparameters.failAtEpoch === epoch && job.attempt === 1) {
    console.error(`failing on purpose at epoch ${epoch}`);
    process.exit(1);
  }
  await sleep(hyperparameters.stepDelayMs ?? 0);
  emit({ type: 'metric', name: 'train_loss', step: epoch, value: 1 / (epoch + 1) });
  emit({ type: 'metric', name: 'val_accuracy', step: epoch, value: Math.min(0.99, 0.5 + epoch / (2 * epochs)) });
  emit({ type: 'progress', fraction: epoch / epochs, message: `epoch ${epoch}/${epochs}` });
  checkpoint();
}
mkdirSync(join(jobDir, 'output/model'), { recursive: true });
writeFileSync(join(jobDir, 'output/model/model.json'), JSON.stringify({ kind: 'example', epochs, trainLines }));
console.log('done');
events.end(() => process.exit(0));
