import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DomainError, isDomainError } from '@trainyard/core';
import { type SlurmTestCluster, type SshTestServer, slurmUnavailableReason, sshdUnavailableReason, startSlurm, startSshd } from '@trainyard/test-services';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlurmCli, SlurmCommandRunner } from '../slurm-cli.port';
import { createLocalSlurmRunner } from './local-runner';
import { createSlurmCli } from './slurm-cli';
import { createSshSlurmRunner, type SshSlurmRunner, type SshSlurmRunnerOptions } from './ssh-runner';

// One real single-node Slurm (2 CPUs) and one real sshd for the file; the same calls run through
// the local runner and over SSH. Run Slurm test files one at a time.
const skip = slurmUnavailableReason() ?? sshdUnavailableReason();

let cluster: SlurmTestCluster;
let sshd: SshTestServer;
let jobsDir: string;
const runners: SshSlurmRunner[] = [];

const rejection = async (promise: Promise<unknown>): Promise<DomainError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isDomainError(error)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
};

const sshRunner = (overrides: Partial<SshSlurmRunnerOptions> = {}): SshSlurmRunner => sshRunnerFor(sshd, runners, { env: cluster.env, ...overrides });

const RUNNERS: Array<[string, () => SlurmCommandRunner]> = [
  ['local', () => createLocalSlurmRunner({ ...process.env, ...cluster.env })],
  ['ssh', () => sshRunner()],
];

/** A batch script in the jobs directory; its name is the job name. */
const script = (name: string, body: string, extra: string[] = []): string => {
  const path = join(jobsDir, `${name}.sh`);
  writeFileSync(path, ['#!/bin/bash', `#SBATCH --job-name=${name}`, ...extra.map((line) => `#SBATCH ${line}`), body, ''].join('\n'));
  return path;
};

describe.skipIf(skip)(`SlurmCli against a real Slurm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    cluster = await startSlurm();
    sshd = await startSshd();
    jobsDir = join(cluster.dir, 'jobs dir');
    mkdirSync(jobsDir);
  });

  afterAll(async () => {
    for (const runner of runners) await runner.close();
    await sshd?.stop();
    await cluster?.stop();
  });

  describe.each(RUNNERS)('through the %s runner', (kind, makeRunner) => {
    let cli: SlurmCli;
    const prefix = `trainyard-test-${kind}-${randomUUID().slice(0, 8)}-`;
    const names = { busy: `${prefix}busy`, ok: `${prefix}ok`, fail: `${prefix}fail` };
    const ids: Record<string, string> = {};

    beforeAll(() => {
      cli = createSlurmCli(makeRunner(), { jobCompLog: cluster.jobCompLog });
    });

    // A failed test leaves no job behind to hold the node's CPUs for the next.
    afterEach(async () => {
      for (const job of await cli.queue(prefix)) await cli.cancel(job.slurmJobId);
      await expect.poll(async () => (await cli.queue(prefix)).length, { timeout: 30_000, interval: 200 }).toBe(0);
    });

    it('submits, shows a pending reason while the node is busy, and reads each final state once the jobs leave the queue', async () => {
      ids['busy'] = await cli.submit(script(names.busy, 'sleep 300', ['--cpus-per-task=2']), jobsDir);
      await expect.poll(async () => (await cli.queue(prefix)).map((job) => job.state), { timeout: 20_000, interval: 200 }).toEqual(['RUNNING']);
      ids['ok'] = await cli.submit(script(names.ok, 'echo hi'), jobsDir);
      ids['fail'] = await cli.submit(script(names.fail, 'echo broken >&2; exit 3'), jobsDir);
      for (const id of Object.values(ids)) expect(id).toMatch(/^\d+$/);

      // A job the scheduler has not looked at yet shows the reason None.
      await expect
        .poll(async () => (await cli.queue(prefix)).find((job) => job.slurmJobId === ids['ok'])?.reason, { timeout: 20_000, interval: 200 })
        .toBe('Resources');
      const queued = await cli.queue(prefix);
      expect(queued.find((job) => job.slurmJobId === ids['busy'])).toEqual({
        slurmJobId: ids['busy'],
        name: names.busy,
        state: 'RUNNING',
        reason: cluster.nodeName,
        source: 'squeue',
      });
      expect(queued.find((job) => job.slurmJobId === ids['ok'])).toEqual({
        slurmJobId: ids['ok'],
        name: names.ok,
        state: 'PENDING',
        reason: 'Resources',
        source: 'squeue',
      });
      expect(queued.find((job) => job.slurmJobId === ids['fail'])).toMatchObject({
        name: names.fail,
        state: 'PENDING',
        reason: expect.stringMatching(/^(Resources|Priority)$/),
      });
      expect(await cli.queue(`${prefix}nothing`)).toEqual([]);

      await cli.cancel(ids['busy'] ?? '');
      await expect.poll(async () => (await cli.queue(prefix)).length, { timeout: 30_000, interval: 200 }).toBe(0);

      expect(await cli.finalState(ids['ok'] ?? '')).toEqual({
        slurmJobId: ids['ok'],
        name: names.ok,
        state: 'COMPLETED',
        exitCode: 0,
        signal: 0,
        restarts: 0,
        source: 'scontrol',
      });
      expect(await cli.finalState(ids['fail'] ?? '')).toMatchObject({ state: 'FAILED', exitCode: 3, signal: 0, reason: 'NonZeroExitCode', source: 'scontrol' });
      expect(await cli.finalState(ids['busy'] ?? '')).toMatchObject({ state: 'CANCELLED', signal: 15, source: 'scontrol' });
      // sbatch ran in the directory given: the job's output file is there.
      expect(readFileSync(join(jobsDir, `slurm-${ids['ok']}.out`), 'utf8')).toBe('hi\n');
    });

    it('finds a finished job by its exact name, and nothing for a name never submitted', async () => {
      const found = await cli.findByName(names.ok);
      // scontrol's record while the controller holds the job; on a slow run it may have purged it
      // (MinJobAge, 10 s here) — even between squeue and scontrol — and the completion log has it.
      expect(found).toEqual([
        found[0]?.source === 'jobcomp'
          ? { slurmJobId: ids['ok'], name: names.ok, state: 'COMPLETED', exitCode: 0, signal: 0, source: 'jobcomp' }
          : { slurmJobId: ids['ok'], name: names.ok, state: 'COMPLETED', exitCode: 0, signal: 0, restarts: 0, source: 'scontrol' },
      ]);
      expect(await cli.findByName(`${prefix}never`)).toEqual([]);
      // A prefix is not a name.
      expect(await cli.findByName(prefix.slice(0, -1))).toEqual([]);
    });

    it('finds a queued job by name, and an unknown job id is unknown (sacct: accounting disabled, no completion line)', async () => {
      const name = `${prefix}queued`;
      const id = await cli.submit(script(name, 'sleep 300'), jobsDir);
      expect(await cli.findByName(name)).toEqual([
        expect.objectContaining({ slurmJobId: id, name, state: expect.stringMatching(/^(PENDING|RUNNING)$/), source: 'squeue' }),
      ]);
      await cli.cancel(id);
      await expect.poll(async () => (await cli.finalState(id))?.state, { timeout: 30_000, interval: 200 }).toBe('CANCELLED');
      expect(await cli.finalState('999999')).toBeUndefined();
    });

    it('sends a signal to the batch shell only (--signal --batch): the job sees it and ends on its own terms', async () => {
      const name = `${prefix}signal`;
      const marker = join(jobsDir, `${name}.marker`);
      const id = await cli.submit(script(name, `trap 'echo got-usr2 > "${marker}"; exit 0' USR2\nsleep 300 &\nwait`), jobsDir);
      await expect.poll(async () => (await cli.queue(name)).map((job) => job.state), { timeout: 20_000, interval: 200 }).toEqual(['RUNNING']);
      // The trap is set once the shell runs; a signal before that would kill it.
      await expect.poll(() => readFileSync(join(jobsDir, `slurm-${id}.out`), 'utf8'), { timeout: 10_000 }).toBe('');
      await new Promise((resolve) => setTimeout(resolve, 500)); // time for bash to reach `wait`
      await cli.cancel(id, { signal: 'USR2', batchOnly: true });
      await expect.poll(async () => (await cli.finalState(id))?.state, { timeout: 30_000, interval: 200 }).toBe('COMPLETED');
      expect(readFileSync(marker, 'utf8')).toBe('got-usr2\n');
    });

    it('refuses ids, names and signals it did not make before running anything', async () => {
      expect((await rejection(cli.finalState('1; rm -rf /'))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(cli.findByName('a b'))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(cli.queue('x|y'))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(cli.cancel('1', { signal: '-9 2' }))).code).toBe('INVALID_ARGUMENT');
    });
  });

  it('finds a job the controller purged (MinJobAge) in the completion log, locally and over SSH', async () => {
    const local = createSlurmCli(createLocalSlurmRunner({ ...process.env, ...cluster.env }), { jobCompLog: cluster.jobCompLog });
    const overSsh = createSlurmCli(sshRunner(), { jobCompLog: cluster.jobCompLog });
    const name = `trainyard-test-purged-${randomUUID().slice(0, 8)}`;
    const id = await local.submit(script(name, 'exit 7'), jobsDir);
    // slurmctld purges on a timer of its own after MinJobAge: up to about a minute more.
    await expect.poll(async () => (await local.finalState(id))?.source, { timeout: 150_000, interval: 1_000 }).toBe('jobcomp');
    const expected = { slurmJobId: id, name, state: 'FAILED', exitCode: 7, signal: 0, source: 'jobcomp' };
    expect(await local.finalState(id)).toEqual(expected);
    expect(await overSsh.finalState(id)).toEqual(expected);
    expect(await local.findByName(name)).toEqual([expected]);
    expect(await overSsh.findByName(name)).toEqual([expected]);
  }, 180_000);
});

/** A directory of stand-in Slurm commands, put first on PATH: each prints what it is given. */
const fakeCommands = (dir: string, commands: Record<string, string>): string => {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(commands)) {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
  }
  return dir;
};

describe.skipIf(skip)(`SlurmCli against misbehaving Slurm commands${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fakes: string;
  let sshd: SshTestServer;
  const sshRunners: SshSlurmRunner[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    fakes = fakeCommands(join(sshd.privateKeyPath, '..', 'fake bin'), {
      sbatch: 'echo "Submitted batch job 12"',
      squeue: 'echo "12|RUNNING|trainyard-x"; echo "13|WAITING|trainyard-y|(None)"',
      scontrol: 'echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2; exit 1',
      sacct: 'echo "sacct: error: Problem talking to the database: Connection refused" >&2; exit 1',
      scancel: 'sleep 30',
    });
  });

  afterAll(async () => {
    for (const runner of sshRunners) await runner.close();
    await sshd?.stop();
  });

  /**
   * Long enough for an SSH round trip on a loaded machine (1 s was not: CI saw sbatch over SSH
   * time out before it answered), short enough for the hanging scancel's timeout to be tested.
   */
  const COMMAND_TIMEOUT_MS = 5_000;
  const makeRunners = (): Array<[string, SlurmCommandRunner]> => {
    const env = { PATH: `${fakes}:${process.env['PATH'] ?? ''}` };
    const ssh = createSshSlurmRunner({
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKeyPath: sshd.privateKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      env,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    sshRunners.push(ssh);
    return [
      ['local', createLocalSlurmRunner({ ...process.env, ...env }, { timeoutMs: COMMAND_TIMEOUT_MS })],
      ['ssh', ssh],
    ];
  };

  it('turns malformed output into an INTEGRITY error naming the command, where it ran and an excerpt; a failing tool into UNAVAILABLE, never "unknown"', async () => {
    for (const [kind, runner] of makeRunners()) {
      const cli = createSlurmCli(runner);
      const submitted = await rejection(cli.submit('/nonexistent.sh', '/'));
      expect(submitted.code, kind).toBe('INTEGRITY');
      expect(submitted.message).toBe(`unexpected output from sbatch (${runner.where}): not \`<id>\` or \`<id>;<cluster>\`: "Submitted batch job 12\\n"`);
      const queued = await rejection(cli.queue('trainyard-'));
      expect(queued.code).toBe('INTEGRITY');
      expect(queued.message).toContain(`squeue (${runner.where}): expected 4 fields (%i|%T|%j|%R), got 3: "12|RUNNING|trainyard-x"`);
      // The controller down is not "no such job": a caller must not resubmit on it.
      const unreachable = await rejection(cli.finalState('12'));
      expect(unreachable.code).toBe('UNAVAILABLE');
      expect(unreachable.message).toContain('Unable to contact slurm controller');
      expect(unreachable.message).toContain(runner.where);
      const timedOut = await rejection(cli.cancel('12'));
      expect(timedOut.code).toBe('UNAVAILABLE');
      expect(timedOut.message).toMatch(new RegExp(`${COMMAND_TIMEOUT_MS} ms`));
    }
  });

  it('reports a missing command as unavailable', async () => {
    const local = createSlurmCli(createLocalSlurmRunner({ ...process.env, PATH: '/nonexistent' }));
    expect((await rejection(local.queue('trainyard-'))).message).toBe('squeue not found on PATH (local)');
    const remote = createSlurmCli(sshRunnerFor(sshd, sshRunners, { env: { PATH: '/nonexistent' } }));
    const error = await rejection(remote.queue('trainyard-'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/exit 127\).*squeue/);
  });

  it('passes every argument over SSH unchanged, in the directory given', async () => {
    const runner = sshRunnerFor(sshd, sshRunners);
    const args = ["it's", 'a b', '', '$HOME', '`id`', '$(id)', '"q"', 'back\\slash', 'semi;colon', 'new\nline', '*', '--signal=USR2'];
    const cwd = join(fakes, '..');
    const result = await runner.run(['sh', '-c', 'pwd; for a in "$@"; do printf "[%s]" "$a"; done', 'sh', ...args], { cwd });
    expect(result).toEqual({ stdout: `${cwd}\n${args.map((arg) => `[${arg}]`).join('')}`, stderr: '', exitCode: 0 });
    expect((await runner.run(['sh', '-c', 'echo err >&2; exit 4'])).exitCode).toBe(4);
    // One connection serves many commands, in parallel too.
    const many = await Promise.all(Array.from({ length: 5 }, (_, index) => runner.run(['echo', String(index)])));
    expect(many.map((answer) => answer.stdout)).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n']);
  });

  it('refuses a host key it does not know or that changed, and a key sshd does not accept', async () => {
    const wrongFingerprint = await rejection(sshRunnerFor(sshd, sshRunners, { knownHostsPath: undefined, hostKeySha256: 'SHA256:AAAA' }).run(['true']));
    expect(wrongFingerprint.code).toBe('UNAVAILABLE');
    expect(wrongFingerprint.message).toContain(`host key ${sshd.hostKeySha256} is not the expected SHA256:AAAA`);
    expect((await sshRunnerFor(sshd, sshRunners, { knownHostsPath: undefined, hostKeySha256: sshd.hostKeySha256 }).run(['true'])).exitCode).toBe(0);
    const emptyKnownHosts = join(fakes, '..', 'empty_known_hosts');
    writeFileSync(emptyKnownHosts, '');
    expect((await rejection(sshRunnerFor(sshd, sshRunners, { knownHostsPath: emptyKnownHosts }).run(['true']))).message).toContain(
      `is not in ${emptyKnownHosts}`,
    );
    const otherKey = readFileSync(`${sshd.strangerKeyPath}.pub`, 'utf8').split(/\s+/).slice(0, 2).join(' ');
    const changed = join(fakes, '..', 'changed_known_hosts');
    writeFileSync(changed, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    expect((await rejection(sshRunnerFor(sshd, sshRunners, { knownHostsPath: changed }).run(['true']))).message).toContain('(changed?)');
    const stranger = await rejection(sshRunnerFor(sshd, sshRunners, { privateKeyPath: sshd.strangerKeyPath }).run(['true']));
    expect(stranger.code).toBe('UNAVAILABLE');
    expect(stranger.message).toMatch(/cannot connect: All configured authentication methods failed/);
    expect(existsSync(sshd.privateKeyPath)).toBe(true);
  });
});

function sshRunnerFor(server: SshTestServer, created: SshSlurmRunner[], overrides: Partial<SshSlurmRunnerOptions> = {}): SshSlurmRunner {
  const runner = createSshSlurmRunner({
    host: server.host,
    port: server.port,
    user: server.user,
    privateKeyPath: server.privateKeyPath,
    knownHostsPath: server.knownHostsPath,
    ...overrides,
  });
  created.push(runner);
  return runner;
}
