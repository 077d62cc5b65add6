import { join } from 'node:path';

/**
 * How the desktop app runs the server and the built-in trainers, as plain data (tested without
 * Electron). Nothing here uses ELECTRON_RUN_AS_NODE: the packaged app's `runAsNode` fuse is off
 * (electron-builder.yml), so Electron's binary never acts as a general Node interpreter.
 *
 *  - The server runs in an Electron utility process (`utilityProcess.fork`), started by the
 *    main process with the bootstrap `dist/server-entry.cjs`, which loads the built server
 *    (apps/server/dist/main.js, from `npm run build:server`; no tsx) and runs `serve`.
 *  - Built-in trainers keep the trainer protocol (own process group, events on fd 3, SIGTERM
 *    then SIGKILL, TRAINYARD_JOB_DIR in the environment): the server starts them as ordinary
 *    child processes of the app's own binary in *trainer-host mode* (`--trainyard-trainer-host`),
 *    in which the main process runs nothing but one allowlisted built-in trainer (trainer-host.ts).
 */

/** The switch that puts the app's binary in trainer-host mode; it must come first after the app path. */
export const TRAINER_HOST_SWITCH = '--trainyard-trainer-host';
/** Marks where the server's entry point and arguments start in the utility process's argv. */
export const SERVER_MAIN_SWITCH = '--trainyard-server-main';

export interface LaunchContext {
  packaged: boolean;
  /** app.getAppPath(): apps/desktop in development, …/resources/app.asar when packaged. */
  appPath: string;
  /** process.resourcesPath. */
  resourcesPath: string;
  /** process.execPath of the main process: the Electron (or packaged app) binary. */
  execPath: string;
  platform: NodeJS.Platform;
}

/** Where the server's code lives: the repository in development, the app's resources when packaged. */
export const serverRoot = (context: LaunchContext): string => (context.packaged ? join(context.resourcesPath, 'app') : join(context.appPath, '..', '..'));

/**
 * How built-in trainers are started (libs/training NodeRuntime): the app's own binary in
 * trainer-host mode. In development Electron needs the app's path first (otherwise it would run
 * the trainer script as an app of its own); a packaged app always loads its own app.asar. The
 * server receives it as TRAINYARD_TRAINER_RUNTIME (apps/server config).
 */
export const trainerHostRuntime = (context: LaunchContext): { execPath: string; args: string[]; env: Record<string, string> } => ({
  execPath: context.execPath,
  args: [
    ...(context.packaged ? [] : [context.appPath]),
    // A trainer shows nothing: on Linux it needs no display (trainers do not receive DISPLAY).
    ...(context.platform === 'linux' ? ['--ozone-platform=headless'] : []),
    TRAINER_HOST_SWITCH,
  ],
  env: {},
});

/**
 * Names never passed from the app's environment to the server (and so never to a trainer):
 * Electron's own switches, and Node options a fuse-less development Electron would honour.
 */
const DROPPED = (name: string): boolean => name.startsWith('ELECTRON_') || name === 'NODE_OPTIONS';

/**
 * The server's environment: the app's environment without ELECTRON_* and NODE_OPTIONS, plus
 * what the desktop decides. Trainers get far less: the server passes them only its allowlist
 * (libs/training trainer-env.ts) and the runtime's `env`, which is empty here.
 */
export const serverEnvironment = (source: Readonly<Record<string, string | undefined>>, own: Readonly<Record<string, string>>): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined && !DROPPED(name)) env[name] = value;
  return { ...env, ...own };
};

/**
 * A file of the server's build under the server's root. The same layout as libs/core's
 * runtime-layout.ts (`entryFile(…, builtLayout(root))`, which server-launch.test.ts checks):
 * not imported from there, because this file is bundled into CommonJS, where that module cannot
 * find its own location.
 */
export const builtServerFile = (root: string, name: 'main.js' | 'text-detector-trainer.js'): string => join(root, 'apps', 'server', 'dist', name);

export interface ServerLaunchPlan {
  /** The module utilityProcess.fork runs. */
  modulePath: string;
  args: string[];
  cwd: string;
  /** Added to the server's environment by the desktop (the rest comes from serverEnvironment). */
  env: Record<string, string>;
  serviceName: string;
}

export const serverLaunch = (context: LaunchContext): ServerLaunchPlan => {
  const root = serverRoot(context);
  return {
    modulePath: join(context.appPath, 'dist', 'server-entry.cjs'),
    args: [SERVER_MAIN_SWITCH, builtServerFile(root, 'main.js'), 'serve'],
    cwd: root,
    env: {
      TRAINYARD_WEB_DIR: join(root, 'apps', 'web', 'dist'),
      TRAINYARD_TRAINER_RUNTIME: JSON.stringify(trainerHostRuntime(context)),
    },
    serviceName: 'Trainyard server',
  };
};
