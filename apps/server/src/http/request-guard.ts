import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '@trainyard/api';
import { SESSION_ENDED_MESSAGE } from '@trainyard/contracts';

export interface GuardPolicy {
  /** Exact `Host` header values accepted (DNS-rebinding defence); null accepts any (shared server: no ambient credentials). */
  allowedHosts: ReadonlySet<string> | null;
  /** Exact `Origin` values accepted when a browser sends one. */
  allowedOrigins: ReadonlySet<string>;
  /** Who the bearer token belongs to, or undefined when it is not valid. */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Name of the HttpOnly cookie a browser signed in with (see session-route.ts). */
  sessionCookie: string;
}

export type GuardVerdict = { ok: true; principal: Principal | undefined } | { ok: false; status: 401 | 403 | 415; message: string };

export interface GuardOptions {
  /** Media types the route accepts for requests with a body. */
  bodyTypes: readonly string[];
  /** Public routes (the UI's static files, sign-in) need no credentials; Host and Origin are still checked. */
  isPublic?: boolean;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const loopbackHosts = (port: number): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);

export const loopbackOrigins = (port: number): Set<string> => new Set([...loopbackHosts(port)].map((host) => `http://${host}`));

const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const TOKEN = /^[\x21-\x7e]{1,1024}$/;

const bearerToken = (header: string | undefined): string | undefined => {
  const match = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header ?? '');
  return match?.[1];
};

/** The value of one cookie from a `Cookie` header, if well-formed. */
export const cookieValue = (header: string | undefined, name: string): string | undefined => {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    const value = rest.join('=');
    if (key === name && TOKEN.test(value) && !value.includes(';')) return value;
  }
  return undefined;
};

/**
 * Every request passes here before any handler runs. `bodyTypes` are the media types the
 * route accepts for requests with a body; none of the CORS-safelisted types (text/plain,
 * form encodings) is ever allowed, so a foreign page cannot post to us without a preflight.
 */
export const checkRequest = async (
  request: { method: string; headers: IncomingHttpHeaders },
  policy: GuardPolicy,
  { bodyTypes, isPublic = false }: GuardOptions,
): Promise<GuardVerdict> => {
  const host = request.headers.host;
  if (!host || (policy.allowedHosts && !policy.allowedHosts.has(host.toLowerCase()))) {
    return { ok: false, status: 403, message: 'Forbidden host' };
  }
  const origin = request.headers.origin;
  // Same origin as the Host it was sent to is our own page (the shared server's UI has no fixed name).
  const sameOrigin = origin !== undefined && [`http://${host}`, `https://${host}`].includes(origin.toLowerCase());
  if (origin !== undefined && !sameOrigin && !policy.allowedOrigins.has(origin.toLowerCase())) {
    return { ok: false, status: 403, message: 'Forbidden origin' };
  }
  const hasBody = BODY_METHODS.has(request.method);
  if (hasBody && !bodyTypes.includes(mediaType(request.headers['content-type']))) {
    return { ok: false, status: 415, message: `Unsupported content type; expected ${bodyTypes.join(' or ')}` };
  }
  if (isPublic) return { ok: true, principal: undefined };
  const bearer = bearerToken(request.headers.authorization);
  const cookie = bearer ? undefined : cookieValue(request.headers.cookie, policy.sessionCookie);
  // A cookie travels by itself; a browser always sends Origin with a write, so a write that
  // rides on the cookie without one did not come from our page.
  if (cookie && hasBody && origin === undefined) {
    return { ok: false, status: 403, message: 'A browser session needs an Origin header on writes' };
  }
  const token = bearer ?? cookie;
  const principal = token ? await policy.authenticate(token) : undefined;
  if (!principal) {
    return { ok: false, status: 401, message: cookie ? SESSION_ENDED_MESSAGE : 'Missing or invalid bearer token' };
  }
  return { ok: true, principal };
};
