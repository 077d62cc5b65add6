import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTrainyardClient } from '@trainyard/client';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from './test-support/local-test-server';
import { rawRequest } from '@trainyard/test-services';

const t = useLocalTestServer();

const headers = () => ({ host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}` });
const healthUrl = () => `${t.server.url}/trpc/system.health`;

describe('server over HTTP', () => {
  it('answers health through the typed client', async () => {
    expect(await t.client.system.health.query()).toEqual({ status: 'ok', version: '0.1.0', database: 'pglite', corruptBlobs: { count: 0, items: [] } });
  });

  it('writes the URL and token to a private session file', () => {
    const path = join(t.dataDir, 'session.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: t.server.url, token: t.server.token, pid: process.pid });
    expect(t.server.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits
  });

  it('rejects missing and wrong tokens with 401', async () => {
    expect((await rawRequest(healthUrl(), { headers: { host: headers().host } })).status).toBe(401);
    const wrong = createTrainyardClient({ url: t.server.url, token: 'x'.repeat(43) });
    await expect(wrong.system.health.query()).rejects.toThrow();
    expect((await rawRequest(healthUrl(), { headers: { ...headers(), authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('rejects foreign Host and Origin headers with 403 and never sends CORS headers', async () => {
    expect((await rawRequest(healthUrl(), { headers: { ...headers(), host: `attacker.example:${t.server.port}` } })).status).toBe(403);
    expect((await rawRequest(healthUrl(), { headers: { ...headers(), origin: 'https://attacker.example' } })).status).toBe(403);
    const sameOrigin = await rawRequest(healthUrl(), { headers: { ...headers(), origin: `http://127.0.0.1:${t.server.port}` } });
    expect(sameOrigin.status).toBe(200);
    expect(Object.keys(sameOrigin.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('rejects mutation bodies that are not JSON with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await rawRequest(healthUrl(), { method: 'POST', headers: { ...headers(), 'content-type': type }, body: '{}' });
      expect(response.status).toBe(415);
    }
  });

  it('rejects an oversized body with 413 before reading it', async () => {
    const response = await rawRequest(healthUrl(), {
      method: 'POST',
      headers: { ...headers(), 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) },
      body: '{}',
    }).catch((error: unknown) => error);
    // The server answers 413 and closes without waiting for the 50 MB it was promised.
    expect(response).toMatchObject({ status: 413 });
  });

  it('rejects unknown input keys with BAD_REQUEST and the field path', async () => {
    const error = await t.client.system.health.query({ surprise: true } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<never>).data as unknown as { code: string; zodIssues: Array<{ message: string }> };
    expect(data.code).toBe('BAD_REQUEST');
    expect(data.zodIssues[0]?.message).toMatch(/surprise/);
  });
});
