import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticPairs } from '@trainyard/trainers';

/**
 * A job directory laid out per PROTOCOL.md under `root`: the hyperparameters, job.json, and
 * `pairs` synthetic pairs (seed 3) split into the train channel and, every fifth, validation.
 */
export const trainerJobDir = (root: string, name: string, hyperparameters: object, pairs: number): string => {
  const dir = join(root, name);
  mkdirSync(join(dir, 'input', 'config'), { recursive: true });
  writeFileSync(join(dir, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  writeFileSync(join(dir, 'input', 'config', 'job.json'), JSON.stringify({ id: name, name, attempt: 1 }));
  const all = syntheticPairs(pairs, 3);
  for (const [channel, part] of [
    ['train', all.filter((_, i) => i % 5 !== 0)],
    ['validation', all.filter((_, i) => i % 5 === 0)],
  ] as const) {
    mkdirSync(join(dir, 'input', 'data', channel), { recursive: true });
    writeFileSync(join(dir, 'input', 'data', channel, 'data.jsonl'), part.map((p) => JSON.stringify(p)).join('\n'));
  }
  return dir;
};
