import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Principal } from '@trainyard/api';
import { type Route, sendJson } from './http-host';

const signInInput = z.strictObject({
  token: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII'),
});

const readJson = async (request: IncomingMessage, maxBytes: number): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error('too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
};

/**
 * POST /session {token}: a browser signs in once and gets an HttpOnly, SameSite=Strict cookie,
 * so the token never sits in a URL, in page script or in storage. DELETE /session signs out.
 */
export const sessionRoute = (authenticate: (token: string) => Promise<Principal | undefined>, cookieName: () => string): Route => ({
  prefix: '/session',
  isPublic: true,
  bodyTypes: ['application/json'],
  maxBodyBytes: 4096,
  async handle(request, response) {
    if ((request.url ?? '').split('?')[0] !== '/session') return sendJson(response, 404, { error: { message: 'Not found' } });
    const base = `${cookieName()}=`;
    const attributes = 'Path=/; HttpOnly; SameSite=Strict';
    if (request.method === 'DELETE') {
      response.setHeader('set-cookie', `${base}; ${attributes}; Max-Age=0`);
      return sendJson(response, 200, { signedIn: false });
    }
    if (request.method !== 'POST') return sendJson(response, 405, { error: { message: 'Use POST to sign in or DELETE to sign out' } });
    const parsed = signInInput.safeParse(await readJson(request, 4096).catch(() => undefined));
    if (!parsed.success) return sendJson(response, 400, { error: { message: 'Send {"token": "…"}' } });
    const principal = await authenticate(parsed.data.token);
    if (!principal) return sendJson(response, 401, { error: { message: 'That token is not valid for this server' } });
    response.setHeader('set-cookie', `${base}${parsed.data.token}; ${attributes}`);
    return sendJson(response, 200, { signedIn: true, actor: principal.actor, scope: principal.scope });
  },
});
