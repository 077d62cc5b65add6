import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { replaceFile } from '@trainyard/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcessControl } from '../process-control';
import type { ProcessControl } from '../process-control.port';
import { ENV_NAME_PATTERN } from '../trainer-env';
import type { RunnerHandle, RunnerLauncher } from './runner-executor';
import { RUNNER_TOKEN_ENV } from './runner-protocol';

/** Names the runner's process by its working directory: how a restarted server tells it from a process that reused its pid. */
const WORK_DIR_MARKER = 'TRAINYARD_RUNNER_WORK_DIR';

export interface LocalRunnerLauncherOptions {
  /** The bundled runner (apps/runner/dist/runner.js). */
  runnerScript: string;
  /** The Node.js that runs it (default: this one). */
  nodePath?: string;
  /** Where each runner gets its empty working directory (default: the system's temp dir). */
  workRoot?: string;
  processes?: ProcessControl;
}

interface LaunchRecord {
  pid: number;
  workDir: string;
  launchedAt: string;
}

/**
 * Runners as processes on this machine, each in an empty temporary directory of its own and its
 * own process group, reaching the server over HTTP exactly as a runner in a pod or a training
 * instance does: nothing of the server's data directory is shared. What it prints goes to the
 * job's `logs/runner.log`. It outlives a server stop (it buffers until a server follows it again);
 * `<jobDir>/runner/attempt-<n>.json` names it for whoever re-attaches.
 */
export const createLocalRunnerLauncher = (options: LocalRunnerLauncherOptions): RunnerLauncher => {
  const processes = options.processes ?? hostProcessControl;
  const recordFile = (jobDir: string, attempt: number): string => join(jobDir, 'runner', `attempt-${attempt}.json`);

  const handleFor = (record: LaunchRecord, exited?: Promise<string>): RunnerHandle => {
    const trainerDir = join(record.workDir, 'job');
    const polled = new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        if (processes.isAlive(record.pid)) return;
        clearInterval(timer);
        resolve('the runner process is gone');
      }, 250);
      // Following a runner never keeps this server's process alive (a stop leaves the runner running).
      timer.unref();
    });
    return {
      signal(signal) {
        processes.signalTree(record.pid, signal);
        // The trainer runs in a process group of its own: an ended runner must not leave it behind.
        if (signal === 'SIGKILL') for (const pid of processes.findByEnvironment('TRAINYARD_JOB_DIR', trainerDir)) processes.signal(pid, 'SIGKILL');
      },
      gone: exited ? Promise.race([exited, polled]) : polled,
      cleanUp: () => rm(record.workDir, { recursive: true, force: true }),
    };
  };

  return {
    async launch({ jobId, attempt, jobDir, serverUrl, token, env }) {
      const workDir = await mkdtemp(join(options.workRoot ?? tmpdir(), 'trainyard-runner-'));
      const log = openSync(join(jobDir, 'logs', 'runner.log'), 'a');
      // The trainer's environment as the orchestrator built it, all of it passed on by the runner's own filter.
      const names = Object.keys(env).filter((name) => ENV_NAME_PATTERN.test(name) && !name.startsWith('TRAINYARD_'));
      const child = spawn(options.nodePath ?? process.execPath, [options.runnerScript, '--server', serverUrl, '--job', jobId], {
        cwd: workDir,
        ...processes.spawnOptions,
        stdio: ['ignore', log, log],
        env: { ...env, TRAINYARD_TRAINER_ENV: names.join(','), [RUNNER_TOKEN_ENV]: token, [WORK_DIR_MARKER]: workDir },
      });
      closeSync(log);
      const exited = new Promise<string>((resolve) => {
        child.once('error', (error) => resolve(`it could not be started: ${error.message}`));
        child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`));
      });
      if (!child.pid) throw new Error(await exited);
      child.unref();
      processes.track(child.pid, { [WORK_DIR_MARKER]: workDir });
      const record: LaunchRecord = { pid: child.pid, workDir, launchedAt: new Date().toISOString() };
      await replaceFile(recordFile(jobDir, attempt), JSON.stringify(record));
      return handleFor(record, exited);
    },
    async find(jobDir, attempt) {
      const record = await readFile(recordFile(jobDir, attempt), 'utf8')
        .then((text) => JSON.parse(text) as LaunchRecord)
        .catch(() => undefined);
      if (!record?.pid || !record.workDir) return undefined;
      // The pid alone may be another process by now: only one whose environment names this runner's directory is it.
      if (!processes.findByEnvironment(WORK_DIR_MARKER, record.workDir).includes(record.pid)) return undefined;
      return handleFor(record);
    },
  };
};
