import type { IncomingHttpHeaders } from 'node:http';

export interface GuardPolicy {
  /** Exact `Host` header values accepted (DNS-rebinding defence). */
  allowedHosts: ReadonlySet<string>;
  /** Exact `Origin` values accepted when a browser sends one. */
  allowedOrigins: ReadonlySet<string>;
  /** Constant-time check of a bearer token. */
  authenticate(token: string): boolean;
}

export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403 | 415; message: string };

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const loopbackHosts = (port: number): Set<string> =>
  new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

export const loopbackOrigins = (port: number): Set<string> =>
  new Set([...loopbackHosts(port)].map((host) => `http://${host}`));

const mediaType = (header: string | undefined): string =>
  (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const bearerToken = (header: string | undefined): string | undefined => {
  const match = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header ?? '');
  return match?.[1];
};

/**
 * Every request passes here before any handler runs. `bodyTypes` are the media types the
 * route accepts for requests with a body; none of the CORS-safelisted types (text/plain,
 * form encodings) is ever allowed, so a foreign page cannot post to us without a preflight.
 */
export const checkRequest = (
  request: { method: string; headers: IncomingHttpHeaders },
  policy: GuardPolicy,
  bodyTypes: readonly string[],
): GuardVerdict => {
  const host = request.headers.host;
  if (!host || !policy.allowedHosts.has(host.toLowerCase())) {
    return { ok: false, status: 403, message: 'Forbidden host' };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.has(origin.toLowerCase())) {
    return { ok: false, status: 403, message: 'Forbidden origin' };
  }
  const token = bearerToken(request.headers.authorization);
  if (!token || !policy.authenticate(token)) {
    return { ok: false, status: 401, message: 'Missing or invalid bearer token' };
  }
  if (BODY_METHODS.has(request.method) && !bodyTypes.includes(mediaType(request.headers['content-type']))) {
    return { ok: false, status: 415, message: `Unsupported content type; expected ${bodyTypes.join(' or ')}` };
  }
  return { ok: true };
};
