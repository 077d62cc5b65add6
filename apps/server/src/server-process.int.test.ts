import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from '@trainyard/test-services';

const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-proc-'));
const env = { TRAINYARD_DATA_DIR: dataDir };
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
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
