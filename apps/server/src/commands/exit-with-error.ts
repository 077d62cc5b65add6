import { isDomainError } from '@trainyard/core';
import { ConfigError } from '../config';
import { DataDirInUseError } from '../runtime/data-dir-lock';

/** Expected failures print one clear line; only unexpected ones show a stack. */
export const exitWithError = (error: unknown, exitCode = 1): never => {
  const expected = error instanceof ConfigError || error instanceof DataDirInUseError || isDomainError(error);
  if (expected) process.stderr.write(`Error: ${(error as Error).message}\n`);
  else process.stderr.write(`Unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(exitCode);
};
