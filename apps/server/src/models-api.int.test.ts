import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';

const t = useLocalTestServer();

const failure = async (call: Promise<unknown>) => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return (error as TRPCClientError<never>).data as unknown as { code: string; zodIssues: Array<{ path: string[]; message: string }> | null };
};

describe('models API', () => {
  it('rejects invalid model names with the reason', async () => {
    for (const name of ['', 'x'.repeat(256), '../etc', 'a/b', 'a\\b', 'bad\u0000name', 'tab\tname', '.hidden', 'a..b']) {
      const data = await failure(t.client.models.register.mutate({ name }));
      expect({ name, code: data.code }).toEqual({ name, code: 'BAD_REQUEST' });
      expect(data.zodIssues?.[0]?.path).toEqual(['name']);
    }
    expect((await t.client.models.list.query({})).items).toEqual([]);
  });

  it('rejects reserved and number-like aliases, and unknown keys', async () => {
    await t.client.models.register.mutate({ name: 'api-model' });
    await t.client.models.createVersion.mutate({ model: 'api-model', metrics: { val_accuracy: 0.8 } });
    for (const alias of ['latest', 'active', '3', 'v3', 'Champion', '']) {
      const data = await failure(t.client.models.setAlias.mutate({ model: 'api-model', alias, version: 1 }));
      expect({ alias, code: data.code }).toEqual({ alias, code: 'BAD_REQUEST' });
    }
    const extra = await failure(t.client.models.register.mutate({ name: 'x', surprise: 1 } as never));
    expect(extra.code).toBe('BAD_REQUEST');
    const nonFinite = await failure(t.client.models.createVersion.mutate({ model: 'api-model', metrics: { loss: Number.POSITIVE_INFINITY } }));
    expect(nonFinite.code).toBe('BAD_REQUEST');
  });

  it('maps domain errors to clear codes and serves versions by alias', async () => {
    expect((await failure(t.client.models.register.mutate({ name: 'api-model' }))).code).toBe('CONFLICT');
    expect((await failure(t.client.models.getVersion.query({ model: 'nope', ref: { version: 1 } }))).code).toBe('NOT_FOUND');
    await t.client.models.setAlias.mutate({ model: 'api-model', alias: 'champion', version: 1 });
    const gate = [{ metric: 'val_accuracy', op: '>=' as const, relativeTo: { alias: 'champion' }, delta: 0.05 }];
    await t.client.models.createVersion.mutate({ model: 'api-model', metrics: { val_accuracy: 0.82 } });
    const blocked = await failure(t.client.models.setAlias.mutate({ model: 'api-model', alias: 'champion', version: 2, gate }));
    expect(blocked.code).toBe('PRECONDITION_FAILED');
    expect((await t.client.models.getVersion.query({ model: 'api-model', ref: { alias: 'champion' } })).version).toBe(1);
    expect((await t.client.models.listVersions.query({ model: 'api-model' })).items.map((v) => v.version)).toEqual([2, 1]);
    const events = await t.client.models.events.query({ model: 'api-model' });
    expect(events.items.map((e) => e.type)).toContain('alias.moved');
    expect(events.items.every((e) => e.actor === 'local')).toBe(true);
  });
});
