import type { VersionRef } from '@trainyard/contracts';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';

/** `ai-detector`, `ai-detector@3`, `ai-detector@champion` → model name and version reference. */
export const parseModelRef = (text: string, fallback: VersionRef = { alias: 'active' }): { model: string; ref: VersionRef } => {
  const match = /^([^@\s]+)(?:@([^@\s]+))?$/.exec(text);
  if (!match?.[1]) throw new CliError(`A model reference looks like NAME, NAME@VERSION or NAME@ALIAS; got "${text}"`, EXIT.USAGE);
  const at = match[2];
  if (at === undefined) return { model: match[1], ref: fallback };
  return { model: match[1], ref: /^\d+$/.test(at) ? { version: Number(at) } : { alias: at } };
};
