// Entry point of the built-in `text-detector` trainer (started by the orchestrator).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTrainerRuntime } from '../trainer-sdk';
import { textDetectorHyperparameters, trainTextDetector } from './train';

const runtime = createTrainerRuntime(textDetectorHyperparameters, { TRAINYARD_JOB_DIR: process.env['TRAINYARD_JOB_DIR'] });
try {
  const code = await trainTextDetector(runtime, (dir, name) => readFileSync(join(dir, name)));
  await runtime.exit(code);
} catch (error) {
  runtime.log(error instanceof Error ? error.message : String(error), 'error');
  console.error(error);
  await runtime.exit(1);
}
