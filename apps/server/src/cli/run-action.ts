import type { Command } from 'commander';
import { explainError } from './cli-error';
import { connect, type Connection, type GlobalOptions } from './connection';
import { EXIT } from './exit-codes';

/**
 * Every client command runs through here: connect, run, and turn any failure into one clear
 * line and a documented exit code. `--debug` adds the stack trace.
 */
export const withConnection = async <O extends GlobalOptions>(
  command: Command,
  run: (connection: Connection, options: O) => Promise<number | void>,
): Promise<void> => {
  const options = command.optsWithGlobals<O>();
  let url: string | undefined;
  try {
    const connection = await connect(options);
    url = connection.url;
    const code = await run(connection, options);
    process.exitCode = code ?? EXIT.OK;
  } catch (error) {
    const explained = explainError(error, url);
    process.stderr.write(`Error: ${explained.message}\n`);
    if (options.debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = explained.exitCode;
  }
};
