// Emits metric points as fast as it can (batched lines), reporting how long writes blocked.
import { writeSync } from 'node:fs';

const total = Number(process.argv[2] ?? 1_000_000);
const perLine = 1_000;
let worstBlockMs = 0;
const started = performance.now();
for (let sent = 0; sent < total; sent += perLine) {
  const points = [];
  for (let i = 0; i < perLine; i += 1) points.push(['loss', sent + i, Math.random()]);
  const line = `${JSON.stringify({ type: 'metrics', points })}\n`;
  const before = performance.now();
  let offset = 0;
  const buffer = Buffer.from(line);
  while (offset < buffer.length) {
    try {
      offset += writeSync(3, buffer, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
  worstBlockMs = Math.max(worstBlockMs, performance.now() - before);
}
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, worstBlockMs }));
