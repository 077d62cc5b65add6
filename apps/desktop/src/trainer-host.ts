import { join } from 'node:path';
import { TRAINER_HOST_SWITCH } from './server-launch';

// Trainer-host mode: the app's own binary started by the server (in its utility process) to
// run one built-in trainer, because with the `runAsNode` fuse off Electron cannot act as Node.
// The main process then opens no window and runs only a trainer from this allowlist — never a
// path it was merely given — so the signed binary is no general-purpose interpreter.

export interface TrainerHostAllowlist {
  /** Absolute paths of the built-in trainers' entry points. */
  entries: readonly string[];
  /** Loader URLs a built-in trainer may ask for (`--import <url>`): tsx's. */
  loaders: readonly string[];
}

export interface TrainerHostRequest {
  entry: string;
  loaders: string[];
  args: string[];
}

/** The built-in trainers' entry points under the server's root (libs/training, libs/trainers). */
export const builtinTrainerEntries = (root: string): string[] => [
  join(root, 'libs', 'training', 'examples', 'example-trainer.mjs'),
  join(root, 'libs', 'trainers', 'src', 'text-detector', 'main.ts'),
];

/**
 * undefined: a normal start of the app. Otherwise the trainer to run, from the arguments after
 * the switch: `[--import <loader>]… <entry> [args…]` (a built-in trainer's nodeArgs). Throws on
 * anything not on the allowlist.
 */
export const trainerHostRequest = (argv: readonly string[], allowed: TrainerHostAllowlist): TrainerHostRequest | undefined => {
  const at = argv.indexOf(TRAINER_HOST_SWITCH);
  if (at === -1) return undefined;
  const rest = argv.slice(at + 1);
  const loaders: string[] = [];
  while (rest[0] === '--import') {
    const loader = rest[1];
    if (loader === undefined || !allowed.loaders.includes(loader)) throw new Error(`trainer host: loader not allowed: ${loader ?? '(none)'}`);
    loaders.push(loader);
    rest.splice(0, 2);
  }
  const [entry, ...args] = rest;
  if (entry === undefined || !allowed.entries.includes(entry)) throw new Error(`trainer host: not a built-in trainer: ${entry ?? '(none)'}`);
  return { entry, loaders, args };
};
