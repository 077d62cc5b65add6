import { sessionCookieName } from '@trainyard/contracts';

/**
 * The cookie the desktop app signs its window in with, set in the window's session before the
 * page loads: the same HttpOnly, SameSite=Strict cookie a browser gets from POST /session,
 * so the token is never in a URL and never visible to page script.
 */
export const sessionCookieFor = (backend: { url: string; port: number; token: string }) => ({
  url: backend.url,
  name: sessionCookieName(backend.port),
  value: backend.token,
  httpOnly: true,
  secure: false,
  sameSite: 'strict' as const,
  path: '/',
});
