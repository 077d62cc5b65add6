// Writes argv[2] MiB (default 50) of malformed lines to fd 3 as fast as the pipe takes them —
// mostly tiny lines, some that look like JSON objects — then three recognisable last lines, then succeeds.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const mib = Number(process.argv[2] ?? 50);
const events = createWriteStream(null, { fd: 3 });
const block = Buffer.from(`${'x\n'.repeat(60_000)}${'{not json}\n'.repeat(1_000)}${'{"type":"metric"}\n'.repeat(1_000)}`);
let written = 0;
const write = (buffer) => (events.write(buffer) ? Promise.resolve() : new Promise((resolve) => events.once('drain', resolve)));
while (written < mib * 1024 * 1024) {
  await write(block);
  written += block.length;
}
for (let i = 1; i <= 3; i += 1) await write(`last garbage line ${i}\n`);
const total = (written / block.length) * 62_000 + 3;
const dir = process.env.TRAINYARD_JOB_DIR;
writeFileSync(join(dir, 'garbage.json'), JSON.stringify({ lines: total, bytes: written }));
mkdirSync(join(dir, 'output/model'), { recursive: true });
writeFileSync(join(dir, 'output/model/model.txt'), 'ok');
events.end(() => process.exit(0));
