import { SESSION_ENDED_MESSAGE } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { checkRequest, type GuardPolicy, loopbackHosts, loopbackOrigins } from './request-guard';

const policy: GuardPolicy = {
  allowedHosts: loopbackHosts(4777),
  allowedOrigins: loopbackOrigins(4777),
  authenticate: async (token) => (token === 'secret-token' ? { actor: 'local', scope: 'admin' } : undefined),
  sessionCookie: 'trainyard_session_4777',
};
const good = { host: '127.0.0.1:4777', authorization: 'Bearer secret-token' };
const check = (method: string, headers: Record<string, string>) => checkRequest({ method, headers }, policy, { bodyTypes: ['application/json'] });

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

  it('accepts the browser session cookie, but a write riding on it must carry our Origin', async () => {
    const browser = { host: good.host, cookie: 'other=1; trainyard_session_4777=secret-token' };
    await expect(check('GET', browser)).resolves.toMatchObject({ ok: true, principal: { actor: 'local' } });
    const write = { ...browser, 'content-type': 'application/json', origin: 'http://127.0.0.1:4777' };
    await expect(check('POST', write)).resolves.toMatchObject({ ok: true });
    await expect(check('POST', { ...write, origin: 'http://evil.example' })).resolves.toMatchObject({ ok: false, status: 403 });
    const { origin: _origin, ...withoutOrigin } = write;
    await expect(check('POST', withoutOrigin)).resolves.toMatchObject({ ok: false, status: 403 });
    // Another port's cookie, or a wrong value, is no sign-in.
    await expect(check('GET', { host: good.host, cookie: 'trainyard_session_4778=secret-token' })).resolves.toMatchObject({ ok: false, status: 401 });
    // A cookie that no longer matches: the browser is told why it must sign in again.
    await expect(check('GET', { host: good.host, cookie: 'trainyard_session_4777=nope' })).resolves.toEqual({
      ok: false,
      status: 401,
      message: SESSION_ENDED_MESSAGE,
    });
  });

  it('lets public routes through without credentials, still checking Host and Origin', async () => {
    const open = (headers: Record<string, string>) => checkRequest({ method: 'GET', headers }, policy, { bodyTypes: [], isPublic: true });
    await expect(open({ host: good.host })).resolves.toEqual({ ok: true, principal: undefined });
    await expect(open({ host: 'evil.example:4777' })).resolves.toMatchObject({ ok: false, status: 403 });
    await expect(open({ host: good.host, origin: 'http://evil.example' })).resolves.toMatchObject({ ok: false, status: 403 });
  });
});
