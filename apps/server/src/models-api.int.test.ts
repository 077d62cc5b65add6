import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, type TrainyardClient } from '@trainyard/client';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { type RunningServer, startServer } from './start-server';

let server: RunningServer;
let dataDir: string;
let client: TrainyardClient;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trainyard-models-'));
  server = await startServer(loadConfig({ TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off', PORT: '0' }), { info: () => undefined, error: () => undefined });
  client = createTrainyardClient({ url: server.url, token: server.token });
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const failure = async (call: Promise<unknown>) => {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCClientError);
  return (error as TRPCClientError<never>).data as unknown as { code: string; zodIssues: Array<{ path: string[]; message: string }> | null };
};

describe('models API', () => {
  it('rejects invalid model names with the reason', async () => {
    for (const name of ['', 'x'.repeat(256), '../etc', 'a/b', 'a\\b', 'bad\u0000name', 'tab\tname', '.hidden', 'a..b']) {
      const data = await failure(client.models.register.mutate({ name }));
      expect({ name, code: data.code }).toEqual({ name, code: 'BAD_REQUEST' });
      expect(data.zodIssues?.[0]?.path).toEqual(['name']);
    }
    expect((await client.models.list.query({})).items).toEqual([]);
  });

  it('rejects reserved and number-like aliases, and unknown keys', async () => {
    await client.models.register.mutate({ name: 'api-model' });
    await client.models.createVersion.mutate({ model: 'api-model', metrics: { val_accuracy: 0.8 } });
    for (const alias of ['latest', 'active', '3', 'v3', 'Champion', '']) {
      const data = await failure(client.models.setAlias.mutate({ model: 'api-model', alias, version: 1 }));
      expect({ alias, code: data.code }).toEqual({ alias, code: 'BAD_REQUEST' });
    }
    const extra = await failure(client.models.register.mutate({ name: 'x', surprise: 1 } as never));
    expect(extra.code).toBe('BAD_REQUEST');
    const nonFinite = await failure(client.models.createVersion.mutate({ model: 'api-model', metrics: { loss: Number.POSITIVE_INFINITY } }));
    expect(nonFinite.code).toBe('BAD_REQUEST');
  });

  it('maps domain errors to clear codes and serves versions by alias', async () => {
    expect((await failure(client.models.register.mutate({ name: 'api-model' }))).code).toBe('CONFLICT');
    expect((await failure(client.models.getVersion.query({ model: 'nope', ref: { version: 1 } }))).code).toBe('NOT_FOUND');
    await client.models.setAlias.mutate({ model: 'api-model', alias: 'champion', version: 1 });
    const gate = [{ metric: 'val_accuracy', op: '>=' as const, relativeTo: { alias: 'champion' }, delta: 0.05 }];
    await client.models.createVersion.mutate({ model: 'api-model', metrics: { val_accuracy: 0.82 } });
    const blocked = await failure(client.models.setAlias.mutate({ model: 'api-model', alias: 'champion', version: 2, gate }));
    expect(blocked.code).toBe('PRECONDITION_FAILED');
    expect((await client.models.getVersion.query({ model: 'api-model', ref: { alias: 'champion' } })).version).toBe(1);
    expect((await client.models.listVersions.query({ model: 'api-model' })).items.map((v) => v.version)).toEqual([2, 1]);
    const events = await client.models.events.query({ model: 'api-model' });
    expect(events.items.map((e) => e.type)).toContain('alias.moved');
    expect(events.items.every((e) => e.actor === 'local')).toBe(true);
  });
});
