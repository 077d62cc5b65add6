#!/usr/bin/env node
// A trainer for the lease tests: appends "<pid> <attempt>" to the file named by argv[2] when it
// starts (so a test counts how many trainers ran for a job, across orchestrators and data
// dirs), then runs argv[3] steps of argv[4] ms, one metric point and a progress event each,
// and writes output/model/model.json.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';

const jobDir = process.env.TRAINYARD_JOB_DIR;
const [startsFile, stepsArg = '10', delayArg = '100'] = process.argv.slice(2);
const job = JSON.parse(readFileSync(join(jobDir, 'input/config/job.json'), 'utf8'));
appendFileSync(startsFile, `${process.pid} ${job.attempt}\n`);
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
const steps = Number(stepsArg);
for (let step = 1; step <= steps; step += 1) {
  await new Promise((resolve) => setTimeout(resolve, Number(delayArg)));
  emit({ type: 'metric', name: 'loss', step, value: 1 / step });
  emit({ type: 'progress', fraction: step / steps });
}
mkdirSync(join(jobDir, 'output/model'), { recursive: true });
writeFileSync(join(jobDir, 'output/model/model.json'), JSON.stringify({ steps, attempt: job.attempt }));
events.end(() => process.exit(0));
