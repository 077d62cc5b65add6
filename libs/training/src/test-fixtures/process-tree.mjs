// A process tree for the ProcessControl contract: a child in this process's tree (its process
// group on POSIX) and one that left it (detached: setsid on POSIX), then prints the three pids as
// one JSON line and runs until killed.
import { spawn } from 'node:child_process';

const forever = 'setInterval(() => {}, 1000)';
const child = spawn(process.execPath, ['-e', forever], { stdio: 'ignore' });
const escaped = spawn(process.execPath, ['-e', forever], { detached: true, stdio: 'ignore', windowsHide: true });
escaped.unref();
process.stdout.write(`${JSON.stringify({ root: process.pid, child: child.pid, escaped: escaped.pid })}\n`);
setInterval(() => {}, 1000);
