#!/usr/bin/env node
// A trainer written the SageMaker way, for apps/server/src/sagemaker-jobs.int.test.ts: it reads
// its data from SM_CHANNEL_TRAIN, its hyperparameters from SageMaker's hyperparameters.json
// (string values) and SM_HPS, and writes its model to SM_MODEL_DIR and checkpoints to
// SM_CHECKPOINT_DIR — never TRAINYARD_JOB_DIR's paths; it reports metrics on fd 3 (Trainyard's
// protocol). It checkpoints and exits 143 on SIGTERM, and refuses to run if the job token reached it.
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
if (Object.entries(env).some(([name, value]) => name === 'TRAINYARD_JOB_TOKEN' || String(value).startsWith('tyj_'))) {
  console.error('the job token reached the trainer');
  process.exit(3);
}
const strings = JSON.parse(readFileSync(join(env.SM_INPUT_CONFIG_DIR, 'hyperparameters.json'), 'utf8'));
const hps = Object.fromEntries(Object.entries(strings).map(([key, value]) => [key, JSON.parse(value)]));
if (JSON.stringify(hps) !== JSON.stringify(JSON.parse(env.SM_HPS))) {
  console.error(`hyperparameters.json ${JSON.stringify(strings)} does not decode to SM_HPS ${env.SM_HPS}`);
  process.exit(4);
}
const lines = readFileSync(join(env.SM_CHANNEL_TRAIN, 'data.jsonl'), 'utf8').split('\n').filter(Boolean).length;
console.log(`sagemaker-style trainer: ${lines} training lines from SM_CHANNEL_TRAIN, optimizer ${hps.optimizer}, channels ${env.SM_CHANNELS}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
const epochs = hps.epochs ?? 3;
for (let epoch = 1; epoch <= epochs; epoch += 1) {
  await sleep(hps.stepDelayMs ?? 0);
  emit({ type: 'metric', name: 'train_loss', step: epoch, value: 1 / (epoch + 1) });
  emit({ type: 'progress', fraction: epoch / epochs, message: `epoch ${epoch}/${epochs}` });
  console.log(`stdout line of epoch ${epoch}`);
  writeFileSync(join(env.SM_CHECKPOINT_DIR, `epoch-${epoch}.json`), JSON.stringify({ epoch }));
  emit({ type: 'checkpoint', path: `checkpoints/epoch-${epoch}.json`, step: epoch });
  if (stopping) {
    console.log(`stopped by SIGTERM after epoch ${epoch}`);
    events.end(() => process.exit(143));
    await sleep(60_000);
  }
}
writeFileSync(join(env.SM_MODEL_DIR, 'model.json'), JSON.stringify({ epochs, lines }));
events.end(() => process.exit(0));
