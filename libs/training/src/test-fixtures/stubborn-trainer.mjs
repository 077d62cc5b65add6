// Ignores SIGTERM and forks a child that would outlive it; records both pids.
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
// Written aside and renamed: a test polling for the file never reads it half-written.
writeFileSync(join(process.env.TRAINYARD_JOB_DIR, 'pids.json.tmp'), JSON.stringify({ trainer: process.pid, child: child.pid }));
renameSync(join(process.env.TRAINYARD_JOB_DIR, 'pids.json.tmp'), join(process.env.TRAINYARD_JOB_DIR, 'pids.json'));
console.log('running forever');
setInterval(() => {}, 1000);
