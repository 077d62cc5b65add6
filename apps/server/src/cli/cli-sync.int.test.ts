import { runCli, postgresUnavailableReason, type PostgresServer, startPostgresServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { type SharedServer, startSharedServer } from '../test-support/shared-server';
import { createVersionWithFiles, randomBlob } from '../test-support/sync-fixtures';
import { EXIT } from './exit-codes';

const skip = postgresUnavailableReason();
const laptop = useLocalTestServer();
let postgres: PostgresServer;
let shared: SharedServer;
let databaseUrl: string;

const trainyard = async (args: string[], env: Record<string, string> = {}) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: laptop.dataDir, ...env });
  return { code: await run.exited, output: run.output() };
};

describe.skipIf(skip)(`CLI: tokens, remotes, push and pull${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    databaseUrl = await postgres.createDatabase('cli_shared');
    shared = await startSharedServer({ databaseUrl });
  }, 120_000);
  afterAll(async () => {
    await shared?.stop();
    await postgres?.stop();
  });

  it('tokens are made on the shared server, shown once; remote add → push → pull report the version mapping', async () => {
    const created = await trainyard(['tokens', 'create', '--name', 'ci-laptop', '--scope', 'write', '--json'], { DATABASE_URL: databaseUrl });
    expect(created.code).toBe(EXIT.OK);
    const { token } = JSON.parse(created.output.slice(created.output.indexOf('{'))) as { token: string };
    expect(token).toMatch(/^tyd_/);
    const listed = await trainyard(['tokens', 'list', '--json'], { DATABASE_URL: databaseUrl });
    expect(listed.output).toContain('"ci-laptop"');
    expect(listed.output).not.toContain(token);

    const noDb = await trainyard(['tokens', 'list']);
    expect(noDb.code).toBe(EXIT.USAGE);
    expect(noDb.output).toMatch(/API tokens belong to a shared server/);

    await createVersionWithFiles(laptop.server, laptop.client, 'cli-model', [{ name: 'model.bin', bytes: randomBlob(20 * 1024 * 1024) }]);
    expect((await trainyard(['remote', 'add', 'team', shared.url, '--remote-token', token])).code).toBe(EXIT.OK);
    const refused = await trainyard(['remote', 'add', 'evil', 'http://169.254.169.254/', '--remote-token', token]);
    // A refused address is invalid input, not a refused token.
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.output).toMatch(/Refusing http:\/\/169\.254\.169\.254.*link-local\/metadata/);
    expect(refused.output).not.toMatch(/token/i);

    const pushed = await trainyard(['push', 'cli-model@1', '--remote', 'team']);
    expect(pushed.code).toBe(EXIT.OK);
    expect(pushed.output).toMatch(/Done: cli-model v1 → team v1 \(20\.0 MiB\)/);
    const again = await trainyard(['push', 'cli-model@1', '--remote', 'team']);
    expect(again.output).toMatch(/Already done: cli-model v1 → team v1/);

    // Pulling what this machine pushed maps back to the same local version: nothing new.
    const pulled = await trainyard(['pull', 'cli-model@1', '--remote', 'team']);
    expect(pulled.code).toBe(EXIT.OK);
    expect(pulled.output).toMatch(/Done: team cli-model v1 → local v1/);
    expect((await laptop.client.models.listVersions.query({ model: 'cli-model' })).items).toHaveLength(1);

    const remotes = await trainyard(['remote', 'list', '--json']);
    expect(JSON.parse(remotes.output)).toMatchObject([{ name: 'team', links: [{ model: 'cli-model', localVersion: 1, remoteVersion: 1, direction: 'push' }] }]);
    const status = await trainyard(['sync', 'status', '--json']);
    expect(JSON.parse(status.output)).toMatchObject([
      { direction: 'pull', state: 'done' },
      { direction: 'push', state: 'done', bytesDone: 20 * 1024 * 1024 },
    ]);

    const wrong = await trainyard(['push', 'cli-model@1', '--remote', 'nope']);
    expect(wrong.code).toBe(EXIT.NOT_FOUND);
    expect(wrong.output).toMatch(/Remote nope not found/);
  }, 120_000);
});
