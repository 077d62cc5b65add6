import { describe, expect, it } from 'vitest';
import { checkRequest, type GuardPolicy, loopbackHosts, loopbackOrigins } from './request-guard';

const policy: GuardPolicy = {
  allowedHosts: loopbackHosts(4777),
  allowedOrigins: loopbackOrigins(4777),
  authenticate: (token) => token === 'secret-token',
};
const good = { host: '127.0.0.1:4777', authorization: 'Bearer secret-token' };
const check = (method: string, headers: Record<string, string>) =>
  checkRequest({ method, headers }, policy, ['application/json']);

describe('request guard', () => {
  it('accepts an authenticated loopback request', () => {
    expect(check('GET', good)).toEqual({ ok: true });
    expect(check('GET', { ...good, host: 'localhost:4777', origin: 'http://localhost:4777' })).toEqual({ ok: true });
    expect(check('POST', { ...good, 'content-type': 'application/json; charset=utf-8' })).toEqual({ ok: true });
  });

  it('rejects foreign or missing Host headers (DNS rebinding)', () => {
    expect(check('GET', { ...good, host: 'evil.example:4777' })).toMatchObject({ ok: false, status: 403 });
    expect(check('GET', { ...good, host: '127.0.0.1:80' })).toMatchObject({ ok: false, status: 403 });
    expect(check('GET', { authorization: good.authorization })).toMatchObject({ ok: false, status: 403 });
  });

  it('rejects foreign origins', () => {
    expect(check('GET', { ...good, origin: 'http://evil.example' })).toMatchObject({ ok: false, status: 403 });
    expect(check('GET', { ...good, origin: 'null' })).toMatchObject({ ok: false, status: 403 });
  });

  it('rejects missing, malformed and wrong tokens', () => {
    expect(check('GET', { host: good.host })).toMatchObject({ ok: false, status: 401 });
    expect(check('GET', { ...good, authorization: 'secret-token' })).toMatchObject({ ok: false, status: 401 });
    expect(check('GET', { ...good, authorization: 'Bearer wrong' })).toMatchObject({ ok: false, status: 401 });
    expect(check('GET', { ...good, authorization: 'Basic c2VjcmV0' })).toMatchObject({ ok: false, status: 401 });
  });

  it('rejects bodies a foreign page could send without a preflight (CSRF)', () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      expect(check('POST', { ...good, 'content-type': type })).toMatchObject({ ok: false, status: 415 });
    }
  });
});
