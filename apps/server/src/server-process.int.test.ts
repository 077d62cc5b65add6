import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli, type ServerProcess, startServerProcess } from '@trainyard/test-services';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-proc-'));
const env = { TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' };
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const withDatabase = async <T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> => {
  const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'pglite') });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
};

describe('server process lifecycle', () => {
  it('locks its data dir, shuts down cleanly, survives SIGKILL, and keeps its data', async () => {
    const first = await startServerProcess(env);
    expect(readFileSync(join(dataDir, 'server.lock'), 'utf8').trim()).toBe(String(first.child.pid));

    const second = runCli(['serve'], { ...env, PORT: '0' });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(new RegExp(`in use by another Trainyard server \\(pid ${first.child.pid}\\)`));

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'session.json'))).toBe(false);

    await withDatabase((db) => db.prisma.modelRegistry.create({ data: { id: crypto.randomUUID(), name: 'survivor' } }));

    const third = await startServerProcess(env);
    const health = await createTrainyardClient({ url: third.url, token: third.token }).system.health.query();
    expect(health.database).toBe('pglite');
    third.child.kill('SIGKILL');
    await third.exited;
    expect(existsSync(join(dataDir, 'server.lock'))).toBe(true); // left behind by the dead process

    const fourth = await startServerProcess(env);
    expect(readFileSync(join(dataDir, 'server.lock'), 'utf8').trim()).toBe(String(fourth.child.pid));
    fourth.child.kill('SIGINT');
    expect(await fourth.exited).toBe(0);

    const names = await withDatabase((db) => db.prisma.modelRegistry.findMany({ select: { name: true } }));
    expect(names).toEqual([{ name: 'survivor' }]);
  });

  it('uses a fixed TRAINYARD_TOKEN when given and prints a clear configuration error otherwise', async () => {
    const bad = runCli(['serve'], { ...env, TRAINYARD_TOKEN: 'too-short' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/TRAINYARD_TOKEN: TRAINYARD_TOKEN must be at least 32 characters/);
    expect(bad.output()).not.toMatch(/at .*\.ts:\d+/); // no stack trace for a user error

    const token = 't'.repeat(40);
    const server = await startServerProcess({ ...env, TRAINYARD_TOKEN: token });
    expect(server.token).toBe(token);
    // Another server on the same port: one plain line, no stack trace.
    const otherDir = mkdtempSync(join(tmpdir(), 'trainyard-port-'));
    const samePort = runCli(['serve'], { TRAINYARD_DATA_DIR: otherDir, TRAINYARD_DEMO_DATA: 'off', PORT: new URL(server.url).port });
    expect(await samePort.exited).toBe(1);
    expect(samePort.output()).toContain(
      `Error: Port ${new URL(server.url).port} on 127.0.0.1 is already in use (another Trainyard server, or another program).`,
    );
    expect(samePort.output()).not.toMatch(/\n\s+at /);
    rmSync(otherDir, { recursive: true, force: true });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});

describe('the session token', () => {
  it('survives a restart (kept 0600 in the data dir) until `trainyard session rotate` replaces it', async () => {
    const tokenDir = mkdtempSync(join(tmpdir(), 'trainyard-token-'));
    const tokenEnv = { TRAINYARD_DATA_DIR: tokenDir, TRAINYARD_DEMO_DATA: 'off' };
    try {
      const first = await startServerProcess(tokenEnv);
      expect(readFileSync(join(tokenDir, 'session-token'), 'utf8').trim()).toBe(first.token);
      expect(statSync(join(tokenDir, 'session-token')).mode & 0o777).toBe(0o600);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      const second = await startServerProcess(tokenEnv);
      expect(second.token).toBe(first.token); // a signed-in browser stays signed in
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      const rotate = runCli(['session', 'rotate'], tokenEnv);
      expect(await rotate.exited).toBe(0);
      expect(rotate.output()).toContain('New session token written to');
      const third = await startServerProcess(tokenEnv);
      try {
        expect(third.token).not.toBe(first.token);
        await expect(createTrainyardClient({ url: third.url, token: first.token }).system.health.query()).rejects.toThrow();
        expect((await createTrainyardClient({ url: third.url, token: third.token }).system.health.query()).status).toBe('ok');
      } finally {
        third.child.kill('SIGTERM');
        await third.exited;
      }
    } finally {
      rmSync(tokenDir, { recursive: true, force: true });
    }
  });
});

describe('jobs across a server crash', () => {
  it('after SIGKILL with 2 jobs running: orphaned trainers are killed and no job stays running', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'trainyard-crash-'));
    const servers: ServerProcess[] = [];
    try {
      const crashEnv = { TRAINYARD_DATA_DIR: crashDir, TRAINYARD_JOB_CONCURRENCY: '2', TRAINYARD_DEMO_DATA: 'off' };
      const first = await startServerProcess(crashEnv);
      servers.push(first);
      const client = createTrainyardClient({ url: first.url, token: first.token });
      const slow = { trainer: { kind: 'builtin' as const, name: 'example' }, hyperparameters: { epochs: 1_000, stepDelayMs: 200 } };
      const retried = await client.jobs.create.mutate({ name: 'retried', maxAttempts: 2, ...slow });
      const single = await client.jobs.create.mutate({ name: 'single', maxAttempts: 1, ...slow });
      // Running, and the trainer started (run.json is written right after the spawn).
      const runFile = (id: string): string => join(crashDir, 'jobs', id, 'run.json');
      await vi.waitFor(() => expect(existsSync(runFile(retried.id)) && existsSync(runFile(single.id))).toBe(true), { timeout: 20_000, interval: 50 });
      const pidOf = (id: string): number => (JSON.parse(readFileSync(join(crashDir, 'jobs', id, 'run.json'), 'utf8')) as { pid: number }).pid;
      const trainerPids = [pidOf(retried.id), pidOf(single.id)];
      first.child.kill('SIGKILL');
      await first.exited;
      expect(trainerPids.every((pid) => existsSync(`/proc/${pid}`))).toBe(true); // orphans, for now

      const second = await startServerProcess({ ...crashEnv, TRAINYARD_ORCHESTRATOR: 'on' });
      servers.push(second);
      const after = createTrainyardClient({ url: second.url, token: second.token });
      const singleAfter = await after.jobs.get.query({ id: single.id });
      expect(singleAfter).toMatchObject({ status: 'failed', error: 'interrupted by a server restart; no attempts left' });
      const retriedAfter = await after.jobs.get.query({ id: retried.id });
      expect(['queued', 'running']).toContain(retriedAfter.status);
      await expect
        .poll(() => trainerPids.filter((pid) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]?.startsWith('Z')), {
          timeout: 300,
          interval: 50,
        })
        .toEqual([]);
      await after.jobs.cancel.mutate({ id: retried.id }).catch(() => undefined);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      for (const server of servers) server.child.kill('SIGKILL');
      rmSync(crashDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });
  it('after SIGKILL, what an orphaned trainer started outside its process group (a setsid grandchild) is killed too', async () => {
    const crashDir = mkdtempSync(join(tmpdir(), 'trainyard-crash-'));
    const servers: ServerProcess[] = [];
    const setsidTrainer = fileURLToPath(new URL('../../../libs/training/src/test-fixtures/setsid-trainer.mjs', import.meta.url));
    try {
      const crashEnv = { TRAINYARD_DATA_DIR: crashDir, TRAINYARD_DEMO_DATA: 'off' };
      const first = await startServerProcess(crashEnv);
      servers.push(first);
      const client = createTrainyardClient({ url: first.url, token: first.token });
      const job = await client.jobs.create.mutate({ name: 'setsid', maxAttempts: 1, trainer: { kind: 'command', command: [process.execPath, setsidTrainer] } });
      const pidsFile = join(crashDir, 'jobs', job.id, 'pids.json');
      await vi.waitFor(() => expect(existsSync(pidsFile)).toBe(true), { timeout: 20_000, interval: 50 });
      const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { trainer: number; grandchild: number };
      first.child.kill('SIGKILL');
      await first.exited;
      const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]?.startsWith('Z');
      expect(alive(pids.trainer) && alive(pids.grandchild)).toBe(true); // orphans, for now

      const second = await startServerProcess(crashEnv);
      servers.push(second);
      const after = createTrainyardClient({ url: second.url, token: second.token });
      expect(await after.jobs.get.query({ id: job.id })).toMatchObject({ status: 'failed', error: 'interrupted by a server restart; no attempts left' });
      expect([pids.trainer, pids.grandchild].filter(alive)).toEqual([]);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      for (const server of servers) server.child.kill('SIGKILL');
      rmSync(crashDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });
});
