import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawRequest } from '@trainyard/test-services';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';

// A stand-in for apps/web/dist: the route serves whatever the build produced.
const webDir = mkdtempSync(join(tmpdir(), 'trainyard-webdir-'));
mkdirSync(join(webDir, 'assets'));
writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>Trainyard</title>');
writeFileSync(join(webDir, 'assets', 'app-1234.js'), 'console.log(1)');
writeFileSync(join(tmpdir(), 'outside-web.txt'), 'secret');

const t = useLocalTestServer({ TRAINYARD_WEB_DIR: webDir });
const hostHeader = () => new URL(t.server.url).host;
const get = (path: string, headers: Record<string, string> = {}) => rawRequest(`${t.server.url}${path}`, { headers: { host: hostHeader(), ...headers } });

describe('web UI routes', () => {
  it("serves the UI without credentials, with a strict CSP, and index.html for the UI's own paths", async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Trainyard</title>');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/jobs/01a2')).body).toContain('<title>Trainyard</title>');
    const asset = await get('/assets/app-1234.js');
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('never maps a request onto a path outside the build (traversal, encodings, unknown files)', async () => {
    for (const path of ['/../outside-web.txt', '/assets/../../outside-web.txt', '/%2e%2e/outside-web.txt', '/assets/missing.js', '/assets/app-1234.js/..']) {
      const response = await get(path);
      expect(response.body).not.toContain('secret');
      expect([200, 404]).toContain(response.status);
      if (response.status === 200) expect(response.body).toContain('<title>Trainyard</title>');
    }
    expect((await get('/', { host: 'evil.example' })).status).toBe(403);
  });

  it('signs a browser in with an HttpOnly SameSite=Strict cookie that then authenticates API calls', async () => {
    const origin = t.server.url;
    const post = (body: string, headers: Record<string, string> = {}) =>
      rawRequest(`${t.server.url}/session`, { method: 'POST', body, headers: { host: hostHeader(), origin, 'content-type': 'application/json', ...headers } });
    expect((await post(JSON.stringify({ token: 'wrong-token' }))).status).toBe(401);
    expect((await post('{"token": 5}')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect((await post(JSON.stringify({ token: t.server.token }), { 'content-type': 'text/plain' })).status).toBe(415);
    const signedIn = await post(JSON.stringify({ token: t.server.token }));
    expect(signedIn.status).toBe(200);
    const setCookie = String(signedIn.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0] ?? '';

    const health = await get('/trpc/system.health', { cookie });
    expect(health.status).toBe(200);
    expect((await get('/trpc/system.health')).status).toBe(401);
    // A write riding on the cookie must come from our page.
    const write = (headers: Record<string, string>) =>
      rawRequest(`${t.server.url}/trpc/models.register`, {
        method: 'POST',
        body: JSON.stringify({ json: { name: 'cookie-model' } }),
        headers: { host: hostHeader(), cookie, 'content-type': 'application/json', ...headers },
      });
    expect((await write({})).status).toBe(403);
    expect((await write({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await write({ origin })).status).toBe(200);

    const signedOut = await rawRequest(`${t.server.url}/session`, {
      method: 'DELETE',
      headers: { host: hostHeader(), origin, 'content-type': 'application/json' },
    });
    expect(String(signedOut.headers['set-cookie'])).toMatch(/Max-Age=0/);
  });
});
