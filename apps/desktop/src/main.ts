import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, session, shell, utilityProcess } from 'electron';
import { type Backend, type BackendChild, startBackend } from './backend-process';
import { desktopDataDir } from './desktop.config';
import { type LaunchContext, serverEnvironment, serverLaunch, serverRoot, TRAINER_HOST_SWITCH } from './server-launch';
import { sessionCookieFor } from './session-cookie';
import { builtinTrainerEntries, type TrainerHostRequest, trainerHostRequest } from './trainer-host';
import { guardSession, guardWebContents, secureWebPreferences } from './window-security';

// The Electron shell: start the server in a utility process, sign the window in, show the web UI.
// Started with --trainyard-trainer-host (by the server), it runs one built-in trainer instead.

const context: LaunchContext = {
  packaged: app.isPackaged,
  appPath: app.getAppPath(),
  resourcesPath: process.resourcesPath,
  execPath: process.execPath,
  platform: process.platform,
};

/** Electron's UtilityProcess as the lifecycle's BackendChild: kill() is SIGTERM; SIGKILL goes to its pid. */
const utilityChild = (child: Electron.UtilityProcess): BackendChild => {
  let exitedCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code) => {
      exitedCode = code;
      resolve(code);
    }),
  );
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout,
    stderr: child.stderr,
    kill(signal) {
      if (exitedCode !== undefined) return;
      if (signal === 'SIGTERM' || !child.pid) child.kill();
      else process.kill(child.pid, signal);
    },
    exited,
  };
};

// ---- Trainer-host mode -------------------------------------------------------------------

const runTrainer = async (request: TrainerHostRequest): Promise<void> => {
  // Its own profile: the running app holds the real one.
  app.setPath('userData', join(app.getPath('temp'), `trainyard-trainer-${process.pid}`));
  app.dock?.hide();
  process.argv = [process.execPath, request.entry, ...request.args];
  // What --enable-source-maps does, switched on before the trainer's bundle loads.
  if (request.sourceMaps) process.setSourceMapsEnabled(true);
  // Built-in trainers end with process.exit (the protocol's exit code).
  await import(pathToFileURL(request.entry).href);
};

// ---- The app -----------------------------------------------------------------------------

let backend: Backend | undefined;

const createWindow = async (): Promise<void> => {
  const plan = serverLaunch(context);
  backend = await startBackend({
    // eslint-disable-next-line no-restricted-properties -- the server inherits the app's environment (minus ELECTRON_*, NODE_OPTIONS)
    env: serverEnvironment(process.env, plan.env),
    dataDir: desktopDataDir(app.getPath('userData')),
    start: (env) => utilityChild(utilityProcess.fork(plan.modulePath, plan.args, { cwd: plan.cwd, env, stdio: 'pipe', serviceName: plan.serviceName })),
  });
  const origin = new URL(backend.url).origin;
  guardSession(session.defaultSession, origin);
  await session.defaultSession.cookies.set(sessionCookieFor(backend));
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Trainyard',
    show: false,
    webPreferences: secureWebPreferences(join(__dirname, 'preload.cjs')),
  });
  window.once('ready-to-show', () => window.show());
  await window.loadURL(`${backend.url}/`);
};

const runApp = (): void => {
  app.on('web-contents-created', (_event, contents) => {
    // Every web contents — the window's, created after the server is up, and any other — gets the guards.
    if (backend) guardWebContents(contents, new URL(backend.url).origin, (url) => void shell.openExternal(url));
  });

  app
    .whenReady()
    .then(createWindow)
    .catch((error: unknown) => {
      dialog.showErrorBox('Trainyard could not start', error instanceof Error ? error.message : String(error));
      app.exit(1);
    });

  app.on('window-all-closed', () => app.quit());

  let stopping = false;
  app.on('before-quit', (event) => {
    // Stop the server cleanly (it releases the data directory lock) before the app exits.
    if (!backend || stopping) return;
    event.preventDefault();
    stopping = true;
    void backend.stop().finally(() => app.quit());
  });
};

const startTrainerHost = (): TrainerHostRequest | undefined => {
  if (!process.argv.includes(TRAINER_HOST_SWITCH)) return undefined;
  return trainerHostRequest(process.argv, builtinTrainerEntries(serverRoot(context)));
};

try {
  const request = startTrainerHost();
  if (request) {
    runTrainer(request).catch((error: unknown) => {
      console.error(error);
      app.exit(1);
    });
  } else {
    runApp();
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  app.exit(2);
}
