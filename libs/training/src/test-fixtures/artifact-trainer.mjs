// Writes a model, a tokenizer and a metadata file, and reports the last two with `artifact`
// events (with their kind), plus one with an unknown kind and one outside the job directory.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRAINYARD_JOB_DIR;
const events = createWriteStream(null, { fd: 3 });
const emit = (event) => events.write(`${JSON.stringify(event)}\n`);
mkdirSync(join(dir, 'output/model'), { recursive: true });
mkdirSync(join(dir, 'extras'), { recursive: true });
writeFileSync(join(dir, 'output/model/model.bin'), 'weights');
writeFileSync(join(dir, 'extras/tokenizer.json'), JSON.stringify({ vocab: ['a', 'b'] }));
writeFileSync(join(dir, 'extras/run-info.json'), JSON.stringify({ seed: 1 }));
writeFileSync(join(dir, 'extras/odd.txt'), 'odd');
emit({ type: 'metric', name: 'val_accuracy', step: 1, value: 0.9 });
emit({ type: 'artifact', path: 'extras/tokenizer.json', kind: 'tokenizer' });
emit({ type: 'artifact', path: 'extras/run-info.json', kind: 'metadata' });
emit({ type: 'artifact', path: 'extras/odd.txt', kind: 'weird' });
emit({ type: 'artifact', path: '../../etc/passwd', kind: 'config' });
events.end(() => process.exit(0));
