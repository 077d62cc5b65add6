import { createTrainyardClient } from '@trainyard/client';
import { openDatabase } from '@trainyard/db';
import { postgresUnavailableReason, type PostgresServer, startPostgresServer } from '@trainyard/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import { type SharedServer, startSharedServer } from './test-support/shared-server';
import { createServerToken, createVersionWithFiles, randomBlob, waitForEntry } from './test-support/sync-fixtures';

const skip = postgresUnavailableReason();
const laptop = useLocalTestServer({ TRAINYARD_SYNC_RETRY_BASE_MS: '50', TRAINYARD_SYNC_RETRY_MAX_MS: '500' });

let postgres: PostgresServer;
let shared: SharedServer;
let databaseUrl: string;
const tokens: Record<'alice' | 'bob' | 'uploader' | 'batcher' | 'pusher' | 'poisoner', string> = {
  alice: '',
  bob: '',
  uploader: '',
  batcher: '',
  pusher: '',
  poisoner: '',
};

const health = (token: string) => fetch(`${shared.url}/trpc/system.health`, { headers: { authorization: `Bearer ${token}` } });

describe.skipIf(skip)(`shared server abuse limits${skip ? ` — skipped: ${skip}` : ''}`, () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    databaseUrl = await postgres.createDatabase('limits');
    // 5 requests/s sustained per token, bursts of 10.
    shared = await startSharedServer({ databaseUrl, env: { TRAINYARD_RATE_LIMIT_PER_SECOND: '5', TRAINYARD_RATE_LIMIT_BURST: '10' } });
    for (const name of Object.keys(tokens) as Array<keyof typeof tokens>) tokens[name] = (await createServerToken(databaseUrl, name, 'write')).token;
  }, 120_000);
  afterAll(async () => {
    await shared?.stop();
    await postgres?.stop();
  });

  it('answers a burst over the limit with 429, Retry-After and a JSON message; another token is not affected', async () => {
    // 60 at once: on a loaded machine they arrive over a second or more, and the bucket refills at 5/s meanwhile.
    const sent = performance.now();
    const answers = await Promise.all(Array.from({ length: 60 }, () => health(tokens.alice)));
    const seconds = (performance.now() - sent) / 1000;
    const admitted = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    expect(admitted + limited.length).toBe(60);
    expect(admitted).toBeGreaterThanOrEqual(10); // the burst
    expect(admitted).toBeLessThanOrEqual(10 + Math.ceil(5 * seconds)); // and no more than the refill over the time it took
    expect(limited.length).toBeGreaterThanOrEqual(10);
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited[0]?.json()).toEqual({
      error: { message: expect.stringMatching(/^Too many requests for this token \(limit 5\/s, burst 10\); retry after \d+ s$/) },
    });
    expect((await health(tokens.bob)).status).toBe(200);
    // Blob uploads count too (these carry a wrong hash: the admitted ones answer 422).
    const puts = await Promise.all(
      Array.from({ length: 60 }, () =>
        fetch(`${shared.url}/blobs/sha256/${'0'.repeat(64)}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
      ),
    );
    expect(puts.filter((p) => p.status === 429).length).toBeGreaterThanOrEqual(10);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a fixed wait on purpose: the 1 s rate window must pass
    expect((await health(tokens.alice)).status).toBe(200);
  });

  it('refuses a batch of 51 calls with 400 and says why; 50 are fine', async () => {
    const batch = (n: number) =>
      fetch(`${shared.url}/trpc/${Array(n).fill('system.health').join(',')}?batch=1`, { headers: { authorization: `Bearer ${tokens.batcher}` } });
    const tooMany = await batch(51);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual({ error: { message: 'A batch request may carry at most 50 calls; this one has 51. Send them in smaller batches.' } });
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // a fixed wait on purpose: the rate window must pass
    const fifty = await batch(50);
    expect(fifty.status).toBe(200);
    expect(await fifty.json()).toHaveLength(50);
  });

  it('refuses a pushed bundle holding a reserved key (400, key path named), and models.list stays readable', async () => {
    const bundle = {
      model: { name: 'poisoned', description: '', tags: [], metadata: {} },
      version: { version: 1, description: '', metrics: {}, tags: [], validation: null },
      artifacts: [],
      lineage: {
        datasetSnapshot: null,
        trainingJob: {
          id: '0198a1c2-0000-7000-8000-000000000001',
          name: 'j',
          trainer: { kind: 'builtin', name: 'example' },
          hyperparameters: { opt: { lr: [{ constructor: 1 }] } },
        },
        parentVersion: null,
      },
      origin: { registry: 'local', model: 'poisoned', version: 1 },
    };
    const response = await fetch(`${shared.url}/trpc/sync.receiveVersion`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.poisoner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ json: { idempotencyKey: 'poison-attempt-1', bundle } }),
    });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { json: { data: { zodIssues: Array<{ path: string[] }> } } } }).error.json;
    expect(error.data.zodIssues.map((issue) => issue.path)).toEqual([['bundle', 'lineage', 'trainingJob', 'hyperparameters', 'opt', 'lr', '0', 'constructor']]);
    const reader = createTrainyardClient({ url: shared.url, token: tokens.poisoner });
    expect((await reader.models.list.query({})).items.map((m) => m.name)).not.toContain('poisoned');
  });

  it('keeps models.list readable when a row stored by an older version holds a reserved key (left out on read)', async () => {
    const database = await openDatabase({ kind: 'postgresql', url: databaseUrl });
    try {
      await database.sql.query(
        `INSERT INTO "ModelRegistry" ("id", "name", "description", "tags", "metadata", "createdAt", "updatedAt") VALUES (gen_random_uuid(), 'legacy', '', '{}', '{"constructor": 1, "team": "nlp"}'::jsonb, now(), now())`,
      );
    } finally {
      await database.close();
    }
    const reader = createTrainyardClient({ url: shared.url, token: tokens.poisoner });
    const legacy = (await reader.models.list.query({})).items.find((m) => m.name === 'legacy');
    expect(legacy?.metadata).toEqual({ team: 'nlp' });
  });

  it('completes a push of 30 blobs (16 PUTs in flight) under the limit by waiting as Retry-After says', async () => {
    const files = Array.from({ length: 30 }, (_, i) => ({ name: `shard-${i}.bin`, bytes: randomBlob(2_048) }));
    const version = await createVersionWithFiles(laptop.server, laptop.client, 'sharded', files);
    await laptop.client.sync.addRemote.mutate({ name: 'team', url: shared.url, token: tokens.pusher });
    const queued = await laptop.client.sync.push.mutate({ remote: 'team', model: 'sharded', ref: { version } });
    const pushed = await waitForEntry(laptop.client, queued.id, ['done', 'failed'], 90_000);
    // One attempt: the 429s were waited out inside it, not turned into a failed attempt.
    expect(pushed).toMatchObject({ state: 'done', error: null, attempts: 1 });
  }, 120_000);
});
