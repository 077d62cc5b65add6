// A process that waits for a shared start instant, then tries to lock a data directory and
// reports the outcome: used to race real processes against each other.
import { appendFileSync } from 'node:fs';
import { acquireDataDirLock } from '../runtime/data-dir-lock';

const [dataDir = '', startAt = '0', report = ''] = process.argv.slice(2);
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
try {
  const lock = await acquireDataDirLock(dataDir);
  appendFileSync(report, `acquired ${process.pid}\n`);
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // hold it while the others try
  await lock.release();
} catch (error) {
  appendFileSync(report, `${(error as Error).name} ${process.pid}\n`);
}
