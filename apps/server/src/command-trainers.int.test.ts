import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import { postgresUnavailableReason, type PostgresServer, startPostgresServer } from '@trainyard/test-services';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken } from './test-support/sync-fixtures';

// Who may run a command trainer: through the real HTTP API, a shared server (PostgreSQL) that
// runs an orchestrator, API tokens of the `train` scope (and `write`, which may not), and the operator's allowlist.

const skip = postgresUnavailableReason();
const envDump = fileURLToPath(new URL('../../../libs/training/src/test-fixtures/env-dump-trainer.mjs', import.meta.url));
const allowed = [process.execPath, envDump];
const laptop = useLocalTestServer({ TRAINYARD_DEMO_DATA: 'off' });

let postgres: PostgresServer;
let shared: SharedServer;
let databaseUrl: string;
let trainer: TrainyardClient;
let writer: TrainyardClient;

const serverJobsDir = (): string => join(shared.dataDir, 'jobs');

const waitFor = (client: TrainyardClient, id: string, statuses: string[]) =>
  vi.waitFor(
    async () => {
      const job = await client.jobs.get.query({ id });
      if (!statuses.includes(job.status)) throw new Error(`job ${id} did not reach ${statuses.join('|')}`);
      return job;
    },
    { timeout: 30_000, interval: 100 },
  );

describe.skipIf(skip)(`command trainers on a shared server${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    databaseUrl = await postgres.createDatabase('server');
    shared = await startSharedServer({
      databaseUrl,
      env: { TRAINYARD_ORCHESTRATOR: 'on', TRAINYARD_ALLOWED_COMMANDS: JSON.stringify([allowed]), AWS_SECRET_ACCESS_KEY: 'shared-aws-secret' },
    });
    trainer = createTrainyardClient({ url: shared.url, token: (await createServerToken(databaseUrl, 'alice-training', 'train')).token });
    writer = createTrainyardClient({ url: shared.url, token: (await createServerToken(databaseUrl, 'alice-laptop', 'write')).token });
  }, 120_000);
  afterAll(async () => {
    await shared?.stop();
    await postgres?.stop();
  });

  it('lets only train (and admin) tokens create or control jobs: a write token, which may push, may not run code', async () => {
    const refusal = await writer.jobs.create.mutate({ name: 'by a writer', trainer: { kind: 'builtin', name: 'example' } }).catch((e: unknown) => e);
    expect((refusal as TRPCClientError<never>).data).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403 });
    expect((refusal as Error).message).toBe("This token's scope (write) does not allow this; it needs train");
    const id = '01a22000-0000-7000-8000-0000000000aa';
    for (const call of [writer.jobs.cancel, writer.jobs.retry, writer.jobs.delete]) await expect(call.mutate({ id })).rejects.toThrow(/needs train/);
    // Nor sweeps, whose trials are jobs.
    await expect(
      writer.sweeps.create.mutate({
        name: 's',
        base: { trainer: { kind: 'builtin', name: 'example' } },
        method: 'grid',
        parameters: { epochs: { values: [1] } },
      } as never),
    ).rejects.toThrow(/needs train/);
    for (const call of [writer.sweeps.cancel, writer.sweeps.retryFailed]) await expect(call.mutate({ sweep: 's' })).rejects.toThrow(/needs train/);
    // Reading stays open to it.
    expect((await writer.jobs.list.query({})).items).toEqual([]);
  });

  it('refuses a train token a command trainer with FORBIDDEN and says why; nothing is queued', async () => {
    const error = await trainer.jobs.create
      .mutate({ name: 'steal secrets', trainer: { kind: 'command', command: ['/bin/sh', '-c', 'env > /tmp/loot'] } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'FORBIDDEN', httpStatus: 403 });
    expect((error as Error).message).toMatch(/Command trainers can only be started from the local session.*TRAINYARD_ALLOWED_COMMANDS/);
    // Allowed program, other arguments: not an exact match.
    await expect(trainer.jobs.create.mutate({ name: 'almost', trainer: { kind: 'command', command: [...allowed, '--extra'] } })).rejects.toThrow(/allowlist/);
    // Allowed command with a cwd of the caller's choosing.
    await expect(trainer.jobs.create.mutate({ name: 'cwd', trainer: { kind: 'command', command: allowed, cwd: '/tmp' } })).rejects.toThrow(/cwd/);
    expect((await trainer.jobs.list.query({})).items).toEqual([]);
  });

  it('accepts and runs a command of the allowlist, with a clean environment; built-in trainers stay allowed', async () => {
    const job = await trainer.jobs.create.mutate({ name: 'allowed', trainer: { kind: 'command', command: allowed } });
    expect(await waitFor(trainer, job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
    const env = JSON.parse(readFileSync(join(serverJobsDir(), job.id, 'env.json'), 'utf8')) as Record<string, string>;
    expect(env['DATABASE_URL']).toBeUndefined();
    expect(env['AWS_SECRET_ACCESS_KEY']).toBeUndefined();
    const builtin = await trainer.jobs.create.mutate({ name: 'builtin', trainer: { kind: 'builtin', name: 'example' }, hyperparameters: { epochs: 1 } });
    expect(await waitFor(trainer, builtin.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
  });

  it('an orchestrator on a shared server refuses to run a command trainer row that is not allowed (inserted behind the API)', async () => {
    const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
    const id = '01a22000-0000-7000-8000-000000000017';
    try {
      await database.sql.query(`INSERT INTO "TrainingJob" ("id", "name", "status", "trainer") VALUES ($1, 'old row', 'queued', $2::jsonb)`, [
        id,
        JSON.stringify({ kind: 'command', command: ['/bin/sh', '-c', 'touch /tmp/trainyard-should-not-exist-17'] }),
      ]);
    } finally {
      await database.close();
    }
    const done = await waitFor(trainer, id, ['failed', 'succeeded']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/^Refused to run this command trainer on a shared server: .*allowlist/);
    expect(() => execFileSync('test', ['-e', '/tmp/trainyard-should-not-exist-17'])).toThrow();
  });
});

describe('command trainers on the local server', () => {
  it('the local session may still run any command, with a cwd', async () => {
    const job = await laptop.client.jobs.create.mutate({
      name: 'local command',
      trainer: { kind: 'command', command: [process.execPath, envDump], cwd: '/tmp' },
    });
    expect(await waitFor(laptop.client, job.id, ['succeeded', 'failed'])).toMatchObject({ status: 'succeeded' });
  });
});
