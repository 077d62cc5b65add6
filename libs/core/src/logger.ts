/**
 * What the server, the orchestrator and the sync worker log through: structured fields and a
 * message. The server's implementation writes JSON lines to stderr (apps/server/src/runtime/logger.ts).
 */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}
