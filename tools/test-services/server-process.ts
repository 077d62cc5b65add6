import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtServerMain } from './server-build';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  token: string;
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** The CLI's bin (`npx trainyard`, `npm start`): source maps and Node's compile cache on, then the built server. */
const bin = fileURLToPath(new URL('../../apps/server/bin/trainyard.mjs', import.meta.url));

/** Runs the real, built CLI in a child process, exactly as a user would with `npm start` or `npx trainyard` (the bin). */
export const runCli = (args: string[], env: Record<string, string>): { child: ChildProcess; output(): string; exited: Promise<number | string> } => {
  builtServerMain(); // refuses a missing or stale build, with what to run
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
};

export const startServerProcess = async (env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> => {
  const run = runCli(['serve'], { PORT: '0', ...env });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A local server prints its session token; a shared server takes API tokens only (token '').
    const listening = /Trainyard listening on (\S+)\n(?:Session token: (\S+)|Shared server)/.exec(run.output());
    if (listening?.[1]) return { ...run, url: listening[1], token: listening[2] ?? '' };
    const ended = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 50))]);
    if (ended !== undefined) throw new Error(`server exited with ${String(ended)}:\n${run.output()}`);
    if (Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`server did not start:\n${run.output()}`);
    }
  }
};
