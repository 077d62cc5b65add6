// Floods fd 3 with garbage between valid events, then succeeds.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const events = createWriteStream(null, { fd: 3 });
for (let i = 0; i < 2_000; i += 1) {
  events.write('this is not json\n');
  events.write('{"type":"metric","name":"loss","step":"x","value":1}\n');
  events.write(`{"type":"metric","name":"loss","step":${i},"value":${1 / (i + 1)}}\n`);
}
events.write(`${'x'.repeat(2 * 1024 * 1024)}\n`); // one enormous line
events.write('{"type":"metric","name":"loss","step":2000,"value":0.0001}\n');
mkdirSync(join(process.env.TRAINYARD_JOB_DIR, 'output/model'), { recursive: true });
writeFileSync(join(process.env.TRAINYARD_JOB_DIR, 'output/model/model.txt'), 'ok');
events.end(() => process.exit(0));
