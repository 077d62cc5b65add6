// Writes and flushes 10 000 points, then keeps appending without flushing until it is killed.
import { createMetricsStore } from '../metrics-store';

const [root = '', job = ''] = process.argv.slice(2);
const writer = await createMetricsStore(root).writer(job);
for (let step = 0; step < 10_000; step += 1) writer.append('loss', step, Math.random());
await writer.flush();
process.stdout.write('flushed\n');
let step = 10_000;
setInterval(() => writer.append('loss', step++, 0), 1);
