import { describe, expect, it } from 'vitest';
import { checkRequest, type GuardPolicy, loopbackHosts, loopbackOrigins } from './request-guard';

const policy: GuardPolicy = {
  allowedHosts: loopbackHosts(4777),
  allowedOrigins: loopbackOrigins(4777),
  authenticate: async (token) => (token === 'secret-token' ? { actor: 'local', scope: 'admin' } : undefined),
};
const good = { host: '127.0.0.1:4777', authorization: 'Bearer secret-token' };
const check = (method: string, headers: Record<string, string>) =>
  checkRequest({ method, headers }, policy, ['application/json']);

describe('request guard', async () => {
  it('accepts an authenticated loopback request', async () => {
    await expect(check('GET', good)).resolves.toEqual({ ok: true, principal: { actor: 'local', scope: 'admin' } });
    await expect(check('GET', { ...good, host: 'localhost:4777', origin: 'http://localhost:4777' })).resolves.toMatchObject({ ok: true });
    await expect(check('POST', { ...good, 'content-type': 'application/json; charset=utf-8' })).resolves.toMatchObject({ ok: true });
  });

  it('rejects foreign or missing Host headers (DNS rebinding)', async () => {
    await expect(check('GET', { ...good, host: 'evil.example:4777' })).resolves.toMatchObject({ ok: false, status: 403 });
    await expect(check('GET', { ...good, host: '127.0.0.1:80' })).resolves.toMatchObject({ ok: false, status: 403 });
    await expect(check('GET', { authorization: good.authorization })).resolves.toMatchObject({ ok: false, status: 403 });
  });

  it('rejects foreign origins', async () => {
    await expect(check('GET', { ...good, origin: 'http://evil.example' })).resolves.toMatchObject({ ok: false, status: 403 });
    await expect(check('GET', { ...good, origin: 'null' })).resolves.toMatchObject({ ok: false, status: 403 });
  });

  it('rejects missing, malformed and wrong tokens', async () => {
    await expect(check('GET', { host: good.host })).resolves.toMatchObject({ ok: false, status: 401 });
    await expect(check('GET', { ...good, authorization: 'secret-token' })).resolves.toMatchObject({ ok: false, status: 401 });
    await expect(check('GET', { ...good, authorization: 'Bearer wrong' })).resolves.toMatchObject({ ok: false, status: 401 });
    await expect(check('GET', { ...good, authorization: 'Basic c2VjcmV0' })).resolves.toMatchObject({ ok: false, status: 401 });
  });

  it('rejects bodies a foreign page could send without a preflight (CSRF)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      await expect(check('POST', { ...good, 'content-type': type })).resolves.toMatchObject({ ok: false, status: 415 });
    }
  });
});
