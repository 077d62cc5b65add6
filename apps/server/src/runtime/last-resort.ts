import type { Logger } from '@trainyard/core';

const PEER_GONE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * True only for an error that is provably a socket's peer going away: its code says so AND
 * every frame of its stack is inside Node itself (`node:net`, `node:_http_server`, the stream
 * internals) — it was raised by Node's socket layer when a connection was reset or closed, not
 * by our code or a library's logic that happens to use the same code. Such an error concerns
 * one connection, which is already gone; the rest of the process is intact.
 */
export const isPeerGone = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !PEER_GONE_CODES.has(code)) return false;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return frames.length > 0 && frames.every((frame) => /\(node:[^)]+\)$|at node:\S+$/.test(frame.trim()));
};

/**
 * The server's last resort for an error nothing handled (every stream should have an error
 * listener or sit in a pipeline; this catches one we missed). The rule: a client (or S3)
 * connection going away mid-stream — `isPeerGone` — is logged and the server keeps serving,
 * because killing every other request and upload for one vanished peer is what an attacker
 * would want. Anything else means our state may be broken: log it and exit non-zero, so a
 * supervisor restarts a clean process.
 */
export const installLastResort = (logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): void => {
  process.on('uncaughtException', (error, origin) => {
    if (isPeerGone(error)) {
      logger.error({ err: error, origin }, 'a connection went away with an unhandled stream error; still serving');
      return;
    }
    logger.error({ err: error, origin }, 'uncaught error; exiting');
    exit(1);
  });
};
