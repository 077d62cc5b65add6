import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';
import { isProcessAlive as isAlive } from './process-checks';

const execFileAsync = promisify(execFile);

/** A real single-node Slurm (Debian's slurmctld + slurmd, 22.05) in a temp directory. */
export interface SlurmTestCluster {
  /** The slurm.conf this cluster runs from: reach it with `SLURM_CONF`, never /etc/slurm. */
  confPath: string;
  /** What a Slurm client needs to reach this cluster: `{ SLURM_CONF: confPath }`. */
  env: { SLURM_CONF: string };
  partition: 'debug';
  /** The node's name (`hostname -s`): what squeue's `%R` shows for a running job. */
  nodeName: string;
  /** `JobCompLoc` of `jobcomp/filetxt`: one line per finished job. */
  jobCompLog: string;
  /** The scratch directory (state, spool, logs); jobs may write here too. */
  dir: string;
  /** `MinJobAge`: finished jobs stay visible to scontrol at least this long (purged on slurmctld's timer after). */
  minJobAgeSeconds: number;
  /** `KillWait`: seconds between SIGTERM and SIGKILL when a job is cancelled or times out. */
  killWaitSeconds: number;
  /** slurmctld's and slurmd's logs, for a failing test's message. */
  logs(): string;
  /** Cancels every job, stops both daemons by pid (waiting for them to exit) and deletes the directory. */
  stop(): Promise<void>;
}

export interface SlurmTestClusterOptions {
  /** Default 10 s: short enough to see a job leave scontrol for the completion log in a test. */
  minJobAgeSeconds?: number;
  /** Default 5 s. */
  killWaitSeconds?: number;
}

const REQUIRED_COMMANDS = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo', 'munged', 'munge'];

const which = (command: string): string | undefined => {
  try {
    return execFileSync('which', [command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
};

/**
 * Why Slurm tests cannot run here, or undefined when they can. With REQUIRE_SLURM=1 (CI) a
 * missing Slurm is a failure, not a skip.
 */
export const slurmUnavailableReason = (): string | undefined => {
  const missing = REQUIRED_COMMANDS.filter((command) => !which(command));
  let reason: string | undefined;
  if (missing.length > 0) reason = `Slurm/munge binaries not on PATH: ${missing.join(', ')} (apt-get install slurmctld slurmd slurm-client munge)`;
  // slurmctld/slurmd run as SlurmUser=root and munged is started as the munge user: only root can.
  else if (process.getuid?.() !== 0) reason = 'the Slurm test cluster runs its daemons as root';
  if (reason && process.env['REQUIRE_SLURM'] === '1') throw new Error(`${reason} (REQUIRE_SLURM=1)`);
  return reason;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const mungeWorks = (): boolean => {
  try {
    execFileSync('munge', ['-n'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
};

/**
 * munged is shared by every cluster on the machine and left running (it holds no state of a
 * cluster); started as the munge user when no munged answers.
 */
const ensureMunge = async (): Promise<void> => {
  if (mungeWorks()) return;
  mkdirSync('/run/munge', { recursive: true });
  execFileSync('chown', ['munge:munge', '/run/munge']);
  execFileSync('runuser', ['-u', 'munge', '--', 'munged'], { stdio: 'pipe' });
  const deadline = Date.now() + 10_000;
  while (!mungeWorks()) {
    if (Date.now() > deadline) throw new Error('munged did not start (munge -n fails)');
    await sleep(100);
  }
};

const readPid = (file: string): number | undefined => {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
};

const waitForPid = async (file: string, what: string, log: () => string): Promise<number> => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pid = readPid(file);
    if (pid !== undefined && isAlive(pid)) return pid;
    if (Date.now() > deadline) throw new Error(`${what} did not start:\n${log()}`);
    await sleep(100);
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
const stopPid = async (pid: number, graceMs: number): Promise<void> => {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      // SIGKILL of a process we may not reap (a daemon's parent is init): wait until it is gone.
      while (isAlive(pid)) await sleep(50);
      return;
    }
    await sleep(50);
  }
};

/** slurmd refuses a node whose RealMemory is more than it finds: the machine's, in MB, or 2000. */
const realMemoryMb = (): number => {
  const mb = Math.floor(totalmem() / 2 ** 20);
  return mb > 0 ? mb : 2000;
};

export const slurmConf = (settings: {
  host: string;
  dir: string;
  slurmctldPort: number;
  slurmdPort: number;
  realMemoryMb: number;
  minJobAgeSeconds: number;
  killWaitSeconds: number;
}): string => {
  const { host, dir } = settings;
  return [
    'ClusterName=ci',
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${settings.slurmctldPort}`,
    `SlurmdPort=${settings.slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`,
    `SlurmdPidFile=${dir}/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd.log`,
    // cgroup plugins fail in many containers; linuxproc tracks a job's processes by parentage.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${dir}/log/jobcomp.log`,
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU',
    'ReturnToService=2',
    `MinJobAge=${settings.minJobAgeSeconds}`,
    `KillWait=${settings.killWaitSeconds}`,
    'MpiDefault=none',
    'SwitchType=switch/none',
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=${settings.realMemoryMb} State=UNKNOWN`,
    'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
};

const tail = (file: string, lines = 30): string => {
  if (!existsSync(file)) return `(${file} missing)`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
};

/**
 * Starts a single-node cluster (2 CPUs, partition `debug`) on free ports in a fresh temp
 * directory and waits until its node is idle. One cluster per test file (beforeAll); stop()
 * in afterAll. Clusters never share ports, state or pid files, so files run one after another
 * (or side by side) never meet; run Slurm test files one at a time all the same: the node
 * claims the machine's 2 CPUs.
 */
export const startSlurm = async (options: SlurmTestClusterOptions = {}): Promise<SlurmTestCluster> => {
  const reason = slurmUnavailableReason();
  if (reason) throw new Error(reason);
  await ensureMunge();
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-slurm-'));
  for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub));
  const minJobAgeSeconds = options.minJobAgeSeconds ?? 10;
  const killWaitSeconds = options.killWaitSeconds ?? 5;
  const slurmctldPort = await freePort();
  let slurmdPort = await freePort();
  while (slurmdPort === slurmctldPort) slurmdPort = await freePort();
  const confPath = join(dir, 'slurm.conf');
  const host = hostname().split('.')[0] ?? 'localhost';
  writeFileSync(confPath, slurmConf({ host, dir, slurmctldPort, slurmdPort, realMemoryMb: realMemoryMb(), minJobAgeSeconds, killWaitSeconds }));
  const jobCompLog = join(dir, 'log', 'jobcomp.log');
  const env = { SLURM_CONF: confPath };
  const childEnv = { ...process.env, ...env };
  const logs = (): string => `--- slurmctld.log\n${tail(join(dir, 'log', 'slurmctld.log'))}\n--- slurmd.log\n${tail(join(dir, 'log', 'slurmd.log'))}`;

  const pids: number[] = [];
  const stopDaemons = async (): Promise<void> => {
    // slurmd first (it would otherwise keep retrying the controller), then slurmctld.
    for (const pid of pids.reverse()) await stopPid(pid, 10_000);
  };
  try {
    // Both daemonize; each writes its pid file, which is how stop() finds it.
    execFileSync('slurmctld', ['-i', '-f', confPath], { env: childEnv, stdio: 'pipe' });
    pids.push(await waitForPid(join(dir, 'slurmctld.pid'), 'slurmctld', logs));
    execFileSync('slurmd', ['-f', confPath], { env: childEnv, stdio: 'pipe' });
    pids.push(await waitForPid(join(dir, 'slurmd.pid'), 'slurmd', logs));
    await waitUntilIdle(childEnv, logs);
  } catch (error) {
    await stopDaemons();
    const message = error instanceof Error ? error.message : String(error);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(message, { cause: error });
  }

  return {
    confPath,
    env,
    partition: 'debug',
    nodeName: host,
    jobCompLog,
    dir,
    minJobAgeSeconds,
    killWaitSeconds,
    logs,
    async stop() {
      await cancelEveryJob(childEnv, killWaitSeconds);
      await stopDaemons();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const squeueIds = async (env: NodeJS.ProcessEnv): Promise<string[]> => {
  const { stdout } = await execFileAsync('squeue', ['-h', '-o', '%i'], { env, timeout: 10_000 });
  return stdout.split('\n').filter(Boolean);
};

/** Nothing of a test's jobs may outlive its cluster: slurmstepd and the job's processes survive slurmd. */
const cancelEveryJob = async (env: NodeJS.ProcessEnv, killWaitSeconds: number): Promise<void> => {
  try {
    const ids = await squeueIds(env);
    if (ids.length === 0) return;
    await execFileAsync('scancel', ['--full', ...ids], { env, timeout: 10_000 }).catch(() => undefined);
    const deadline = Date.now() + (killWaitSeconds + 15) * 1000;
    while (Date.now() < deadline && (await squeueIds(env)).length > 0) await sleep(200);
  } catch {
    // The controller is already gone: nothing left to ask.
  }
};

const waitUntilIdle = async (env: NodeJS.ProcessEnv, logs: () => string): Promise<void> => {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const { stdout } = await execFileAsync('sinfo', ['-h', '-o', '%T'], { env, timeout: 10_000 });
      last = stdout.trim();
      if (last === 'idle') return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(`the Slurm node did not become idle (sinfo: ${last}):\n${logs()}`);
};
