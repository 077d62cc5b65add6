import { DomainError } from '@trainyard/core';

// Words that no POSIX shell treats specially: left bare so a command line stays readable.
const PLAIN = /^[A-Za-z0-9_/.,:@%+-]+$/;

/**
 * One argument for a POSIX shell (the login shell sshd runs a command with): bare when plain,
 * otherwise in single quotes, inside which nothing is special but the quote itself, written as
 * `'\''`. A NUL byte cannot be passed to a command at all.
 */
export const shellWord = (arg: string): string => {
  if (arg.includes('\0')) throw new DomainError('INVALID_ARGUMENT', 'a command argument holds a NUL byte');
  return PLAIN.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * argv as one command line for a remote shell: `cd <cwd> && env NAME=value … argv…`. `env`
 * rather than `NAME=value cmd`, which only Bourne-like shells read as an assignment.
 */
export const remoteCommandLine = (argv: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): string => {
  if (argv.length === 0) throw new DomainError('INVALID_ARGUMENT', 'no command to run');
  const assignments = Object.entries(options.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new DomainError('INVALID_ARGUMENT', `not an environment variable name: ${JSON.stringify(name)}`);
    return shellWord(`${name}=${value}`);
  });
  const command = [...(assignments.length > 0 ? ['env', ...assignments] : []), ...argv.map(shellWord)].join(' ');
  return options.cwd === undefined ? command : `cd ${shellWord(options.cwd)} && ${command}`;
};
