import { join } from 'node:path';
import { builtServerFile, TRAINER_HOST_SWITCH } from './server-launch';

// Trainer-host mode: the app's own binary started by the server (in its utility process) to
// run one built-in trainer, because with the `runAsNode` fuse off Electron cannot act as Node.
// The main process then opens no window and runs only a trainer from this allowlist — never a
// path it was merely given, nor a loader — so the signed binary is no general-purpose interpreter.

export interface TrainerHostRequest {
  entry: string;
  /** The built trainer asked for source maps (`--enable-source-maps`, what Node would be given). */
  sourceMaps: boolean;
  args: string[];
}

/**
 * The built-in trainers' entry points under the server's root: the protocol example (plain
 * JavaScript, libs/training) and the built text-detector (apps/server/dist) — what the built
 * server's catalog starts (libs/core runtime-layout.ts).
 */
export const builtinTrainerEntries = (root: string): string[] => [
  join(root, 'libs', 'training', 'examples', 'example-trainer.mjs'),
  builtServerFile(root, 'text-detector-trainer.js'),
];

/**
 * undefined: a normal start of the app. Otherwise the trainer to run, from the arguments after
 * the switch: `[--enable-source-maps] <entry> [args…]` (a built-in trainer's nodeArgs). Throws on
 * anything else: an entry not on the allowlist, or any other option (`--import`, `--require`…).
 */
export const trainerHostRequest = (argv: readonly string[], allowedEntries: readonly string[]): TrainerHostRequest | undefined => {
  const at = argv.indexOf(TRAINER_HOST_SWITCH);
  if (at === -1) return undefined;
  const rest = argv.slice(at + 1);
  const sourceMaps = rest[0] === '--enable-source-maps';
  if (sourceMaps) rest.shift();
  const [entry, ...args] = rest;
  if (entry === undefined || !allowedEntries.includes(entry)) throw new Error(`trainer host: not a built-in trainer: ${entry ?? '(none)'}`);
  return { entry, sourceMaps, args };
};
