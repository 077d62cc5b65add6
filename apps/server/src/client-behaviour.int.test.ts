import { spawn } from 'node:child_process';
import { createTrainyardClient, trainyardErrorInfo } from '@trainyard/client';
import { syntheticPairs } from '@trainyard/trainers';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import { trainDetectorModel } from './test-support/trained-model';

const t = useLocalTestServer();

/** A real fetch that loses the first `failures` requests on the way, as a flaky network would. */
const flakyFetch = (failures: number) => {
  let calls = 0;
  const fetchImpl: typeof fetch = (input, init) => {
    calls++;
    if (calls <= failures) return Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }));
    return fetch(input, init);
  };
  return { fetchImpl, calls: () => calls };
};

describe('the typed client other apps use', () => {
  it('retries a query after transient network failures, but never a mutation', async () => {
    const flaky = flakyFetch(2);
    const client = createTrainyardClient({ url: t.server.url, token: t.server.token, fetch: flaky.fetchImpl });
    await expect(client.models.list.query({})).resolves.toMatchObject({ items: [] });
    expect(flaky.calls()).toBe(3);

    const flakyMutation = flakyFetch(1);
    const mutating = createTrainyardClient({ url: t.server.url, token: t.server.token, fetch: flakyMutation.fetchImpl });
    await expect(mutating.models.register.mutate({ name: 'never-retried' })).rejects.toThrow(/Could not reach the Trainyard server at \S+ \(ECONNRESET\)/);
    expect(flakyMutation.calls()).toBe(1);
    await expect(t.client.models.get.query({ model: 'never-retried' })).rejects.toThrow(/not found/i);
  });

  it('gives typed error information a program can branch on', async () => {
    const notFound = await t.client.models.get.query({ model: 'missing-model' }).catch((error: unknown) => error);
    expect(trainyardErrorInfo(notFound)).toMatchObject({
      code: 'NOT_FOUND',
      httpStatus: 404,
      domainCode: 'NOT_FOUND',
      details: { model: 'missing-model' },
      issues: [],
    });
    const invalid = await t.client.models.register.mutate({ name: 'ok-name', description: 'x'.repeat(100_000) }).catch((error: unknown) => error);
    expect(trainyardErrorInfo(invalid)).toMatchObject({ code: 'BAD_REQUEST', issues: [{ path: ['description'] }] });
    const unauthorised = await createTrainyardClient({ url: t.server.url, token: 'wrong-token', queryAttempts: 1 })
      .models.list.query({})
      .catch((error: unknown) => error);
    expect(trainyardErrorInfo(unauthorised)).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
  });

  it('the example app (imports only the client) lists models and scores texts against a real server', async () => {
    await trainDetectorModel({ ...t.server, client: t.client }, { model: 'example-detector', pairs: 300, seed: 5, epochs: 2 });
    await t.client.models.setActive.mutate({ model: 'example-detector', version: 1 });

    const [pair] = syntheticPairs(1, 4242);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'apps/client-example/src/main.ts', 'example-detector', pair?.aiText ?? '', pair?.humanizedText ?? ''],
      {
        env: { ...process.env, TRAINYARD_URL: t.server.url, TRAINYARD_TOKEN: t.server.token },
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/^model example-detector latest=1 active=1$/m);
    const scores = [...output.matchAll(/^(\d\.\d{4})\t/gm)].map((match) => Number(match[1]));
    expect(scores).toHaveLength(2);
    expect(scores[0]).toBeGreaterThan(0.5);
    expect(scores[1]).toBeLessThan(0.5);

    // No MODEL: the first listed model with a version, and the output says which.
    await t.client.models.register.mutate({ name: 'aaa-no-versions' });
    const chosen = spawn(process.execPath, ['--import', 'tsx', 'apps/client-example/src/main.ts'], {
      env: { ...process.env, TRAINYARD_URL: t.server.url, TRAINYARD_TOKEN: t.server.token },
    });
    let chosenOutput = '';
    chosen.stdout.on('data', (chunk: Buffer) => (chosenOutput += chunk.toString()));
    chosen.stderr.on('data', (chunk: Buffer) => (chosenOutput += chunk.toString()));
    expect(await new Promise((resolve) => chosen.once('exit', resolve)), chosenOutput).toBe(0);
    expect(chosenOutput).toMatch(/^model aaa-no-versions latest=0 active=-$/m);
    expect(chosenOutput).toMatch(/^scoring with example-detector version 1 \(active\)$/m);
    expect([...chosenOutput.matchAll(/^\d\.\d{4}\t/gm)]).toHaveLength(2);
  }, 120_000);
});
