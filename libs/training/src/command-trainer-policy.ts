import type { TrainerSpec } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';

/**
 * Who may run which command trainer. A command trainer runs arbitrary code as the server's
 * user, so:
 *  - the local session principal (actor `local`: the session token or the UI's cookie — the
 *    user of this machine, who can run code here anyway) may run any command;
 *  - anyone else (API tokens on a shared server) may only run a command that exactly matches
 *    an entry of the operator's allowlist (argv arrays, TRAINYARD_ALLOWED_COMMANDS), with no
 *    `cwd` of their choosing;
 *  - built-in trainers are allowed for everyone.
 */
export interface CommandTrainerPolicy {
  /** A shared server: the database holds jobs from API-token callers, never the session's. */
  shared: boolean;
  /** Argument vectors the operator allows; matched exactly, element by element. */
  allowedCommands: ReadonlyArray<readonly string[]>;
}

export const LOCAL_ACTOR = 'local';

export const isAllowedCommand = (policy: CommandTrainerPolicy, command: readonly string[]): boolean =>
  policy.allowedCommands.some((entry) => entry.length === command.length && entry.every((arg, i) => arg === command[i]));

/** Why `actor` may not create a job with this trainer, or undefined when it may. */
export const commandRefusal = (policy: CommandTrainerPolicy, trainer: TrainerSpec, actor: string): string | undefined => {
  if (trainer.kind !== 'command') return undefined;
  if (actor === LOCAL_ACTOR && !policy.shared) return undefined;
  if (!isAllowedCommand(policy, trainer.command)) {
    return "Command trainers can only be started from the local session; on a shared server only commands in the operator's allowlist (TRAINYARD_ALLOWED_COMMANDS) may run. Use a built-in trainer, or ask the operator to allow this exact command.";
  }
  if (trainer.cwd !== undefined) return 'An allowed command runs in its job directory; a cwd can only be given from the local session.';
  return undefined;
};

export const assertCommandAllowed = (policy: CommandTrainerPolicy, trainer: TrainerSpec, actor: string): void => {
  const refusal = commandRefusal(policy, trainer, actor);
  if (refusal) throw new DomainError('FORBIDDEN', refusal, { trainer: 'command' });
};

/**
 * What an orchestrator may run: on a shared server only allowed commands (a row may predate
 * the check, or come from an older server); locally, any command the session queued.
 */
export const runRefusal = (policy: CommandTrainerPolicy, trainer: TrainerSpec): string | undefined => {
  if (!policy.shared) return undefined;
  const refusal = commandRefusal(policy, trainer, '');
  return refusal && `Refused to run this command trainer on a shared server: ${refusal}`;
};
