import { z } from 'zod';

export const healthOutput = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgresql']),
  /** Blobs a read found corrupt since the server started (the first 100 listed). */
  corruptBlobs: z.object({
    count: z.number().int(),
    items: z.array(z.object({ sha256: z.string(), detectedAt: z.date() })),
  }),
});
export type HealthOutput = z.infer<typeof healthOutput>;

/** Queries without parameters still take a strict (empty) object, so stray keys are rejected. */
export const emptyInput = z.strictObject({}).optional();

/**
 * The HttpOnly cookie a browser (or the desktop app) is signed in with. Per port: two servers
 * on one machine must not overwrite each other's sign-in (cookies ignore ports).
 */
export const sessionCookieName = (port: number): string => `trainyard_session_${port}`;

/** What a browser is told when its session cookie is refused: the server's session token changed. */
export const SESSION_ENDED_MESSAGE =
  "Your browser session ended: this server's session token has changed (rotated with `trainyard session rotate`, or the server was started with another TRAINYARD_TOKEN). Sign in with the token `npx trainyard ui` prints.";

/** The web UI's content security policy (served by the server, enforced again by the desktop app). */
export const WEB_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
