import { isDomainError } from '@trainyard/core';
import { ConfigError } from '../config';
import { DataDirInUseError } from '../runtime/data-dir-lock';

const listenFailure = (error: unknown): string | undefined => {
  const { code, port, address } = (error ?? {}) as NodeJS.ErrnoException & { port?: number; address?: string };
  if (code === 'EADDRINUSE')
    return `Port ${port} on ${address} is already in use (another Trainyard server, or another program). Stop it, or choose another port with PORT=… (PORT=0 picks a free one).`;
  if (code === 'EACCES') return `Not allowed to listen on port ${port} on ${address}. Choose a port above 1023 with PORT=….`;
  return undefined;
};

/** Expected failures print one clear line; only unexpected ones show a stack. */
export const exitWithError = (error: unknown, exitCode = 1): never => {
  const listening = listenFailure(error);
  if (listening) {
    process.stderr.write(`Error: ${listening}\n`);
    process.exit(exitCode);
  }
  const expected = error instanceof ConfigError || error instanceof DataDirInUseError || isDomainError(error);
  if (expected) process.stderr.write(`Error: ${(error as Error).message}\n`);
  else process.stderr.write(`Unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(exitCode);
};
