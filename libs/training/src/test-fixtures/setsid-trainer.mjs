// Starts a grandchild in its own session (detached: setsid), so a process-group kill misses it,
// records both pids, then runs forever (argv[2] = 'exit': exits 0 right away instead).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRAINYARD_JOB_DIR;
const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
grandchild.unref();
writeFileSync(join(dir, 'pids.json'), JSON.stringify({ trainer: process.pid, grandchild: grandchild.pid }));
if (process.argv[2] === 'exit') {
  mkdirSync(join(dir, 'output/model'), { recursive: true });
  writeFileSync(join(dir, 'output/model/model.txt'), 'ok');
  process.exit(0);
}
setInterval(() => {}, 1000);
