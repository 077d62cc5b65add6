import { join } from 'node:path';

/**
 * How the desktop app runs the server: Electron's own binary as Node (ELECTRON_RUN_AS_NODE),
 * with tsx, on the server's entry point — from the repository in development, from the app's
 * resources when packaged (electron-builder copies the server there, see electron-builder.yml).
 */
export const serverLaunch = (context: { packaged: boolean; appPath: string; resourcesPath: string; electronPath: string }) => {
  const root = context.packaged ? join(context.resourcesPath, 'app') : join(context.appPath, '..', '..');
  return {
    command: context.electronPath,
    args: ['--import', 'tsx', join(root, 'apps', 'server', 'src', 'main.ts'), 'serve'],
    cwd: root,
    env: { ELECTRON_RUN_AS_NODE: '1', TRAINYARD_WEB_DIR: join(root, 'apps', 'web', 'dist') },
  };
};
