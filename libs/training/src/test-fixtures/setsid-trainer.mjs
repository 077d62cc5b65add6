// Starts a grandchild in its own session (detached: setsid), so a process-group kill misses it,
// records both pids, then runs forever (argv[2] = 'exit': exits 0 right away instead).
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRAINYARD_JOB_DIR;
const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
grandchild.unref();
// Written aside and renamed: a test polling for the file never reads it half-written.
writeFileSync(join(dir, 'pids.json.tmp'), JSON.stringify({ trainer: process.pid, grandchild: grandchild.pid }));
renameSync(join(dir, 'pids.json.tmp'), join(dir, 'pids.json'));
if (process.argv[2] === 'exit') {
  mkdirSync(join(dir, 'output/model'), { recursive: true });
  writeFileSync(join(dir, 'output/model/model.txt'), 'ok');
  process.exit(0);
}
setInterval(() => {}, 1000);
