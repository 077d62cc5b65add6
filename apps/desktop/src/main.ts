import { join } from 'node:path';
import { app, BrowserWindow, dialog, session, shell } from 'electron';
import { type Backend, startBackend } from './backend-process';
import { desktopDataDir } from './desktop.config';
import { serverLaunch } from './server-launch';
import { sessionCookieFor } from './session-cookie';
import { guardSession, guardWebContents, secureWebPreferences } from './window-security';

// The Electron shell: start the server as a child process, sign the window in, show the web UI.
let backend: Backend | undefined;

const createWindow = async (): Promise<void> => {
  const launch = serverLaunch({ packaged: app.isPackaged, appPath: app.getAppPath(), resourcesPath: process.resourcesPath, electronPath: process.execPath });
  // eslint-disable-next-line no-restricted-properties -- the server child inherits the app's environment
  backend = await startBackend({ ...launch, env: { ...process.env, ...launch.env }, dataDir: desktopDataDir(app.getPath('userData')) });
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

app.on('web-contents-created', (_event, contents) => {
  // Every web contents — the window's, created after the server is up, and any other — gets the guards.
  if (backend) guardWebContents(contents, new URL(backend.url).origin, (url) => void shell.openExternal(url));
});

app.whenReady().then(createWindow).catch((error: unknown) => {
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
