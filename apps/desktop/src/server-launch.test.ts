import { join } from 'node:path';
import { builtLayout, entryFile, entryNodeArgs, serverEntries } from '@trainyard/core';
import { createTrainerCatalog, trainerEnvironment } from '@trainyard/training';
import { textDetectorTrainer } from '@trainyard/trainers';
import { describe, expect, it } from 'vitest';
import { serverArgv } from './server-entry';
import { builtServerFile, SERVER_MAIN_SWITCH, serverEnvironment, serverLaunch, TRAINER_HOST_SWITCH, trainerHostRuntime } from './server-launch';
import { builtinTrainerEntries, trainerHostRequest } from './trainer-host';

const repo = join(import.meta.dirname, '..', '..', '..');
const dev = {
  packaged: false,
  appPath: join(repo, 'apps', 'desktop'),
  resourcesPath: '/nonexistent',
  execPath: '/opt/electron/electron',
  platform: 'linux' as const,
};
const packaged = {
  packaged: true,
  appPath: '/opt/Trainyard/resources/app.asar',
  resourcesPath: '/opt/Trainyard/resources',
  execPath: '/opt/Trainyard/trainyard',
  platform: 'darwin' as const,
};

describe('desktop launch plans', () => {
  it('runs the built server in a utility process from the built bootstrap, with no ELECTRON_RUN_AS_NODE', () => {
    const plan = serverLaunch(packaged);
    expect(plan).toMatchObject({
      modulePath: '/opt/Trainyard/resources/app.asar/dist/server-entry.cjs',
      args: [SERVER_MAIN_SWITCH, '/opt/Trainyard/resources/app/apps/server/dist/main.js', 'serve'],
      cwd: '/opt/Trainyard/resources/app',
      serviceName: 'Trainyard server',
    });
    expect(plan.env['TRAINYARD_WEB_DIR']).toBe('/opt/Trainyard/resources/app/apps/web/dist');
    expect(JSON.parse(plan.env['TRAINYARD_TRAINER_RUNTIME'] ?? '')).toEqual({ execPath: '/opt/Trainyard/trainyard', args: [TRAINER_HOST_SWITCH], env: {} });
    for (const context of [dev, packaged]) expect(JSON.stringify(serverLaunch(context))).not.toContain('ELECTRON_RUN_AS_NODE');
    expect(serverLaunch(dev).args[1]).toBe(join(repo, 'apps', 'server', 'dist', 'main.js'));
  });

  it("names the server build's files as the server's own runtime layout does (libs/core)", () => {
    for (const root of [repo, '/opt/Trainyard/resources/app']) {
      expect(builtServerFile(root, 'main.js')).toBe(entryFile(serverEntries.main, builtLayout(root)));
      expect(builtServerFile(root, 'text-detector-trainer.js')).toBe(entryFile(serverEntries.textDetectorTrainer, builtLayout(root)));
    }
  });

  it("drops ELECTRON_* and NODE_OPTIONS from the server's environment, keeps the rest and adds the plan's", () => {
    const env = serverEnvironment(
      { ELECTRON_RUN_AS_NODE: '1', ELECTRON_ENABLE_LOGGING: '1', NODE_OPTIONS: '--require /tmp/x.js', PATH: '/bin', HOME: '/home/u', UNSET: undefined },
      { TRAINYARD_WEB_DIR: '/w' },
    );
    expect(env).toEqual({ PATH: '/bin', HOME: '/home/u', TRAINYARD_WEB_DIR: '/w' });
  });

  it('the bootstrap finds the server entry after its marker, whatever precedes it', () => {
    expect(serverArgv(['/opt/electron', '--type=utility', SERVER_MAIN_SWITCH, '/app/main.ts', 'serve'])).toEqual(['/app/main.ts', 'serve']);
    expect(() => serverArgv(['/opt/electron'])).toThrow(/expected/);
  });

  it("starts built-in trainers as the app's own binary in trainer-host mode, with only the allowlisted environment", () => {
    expect(trainerHostRuntime(packaged)).toEqual({ execPath: '/opt/Trainyard/trainyard', args: [TRAINER_HOST_SWITCH], env: {} });
    expect(trainerHostRuntime(dev)).toEqual({
      execPath: '/opt/electron/electron',
      args: [dev.appPath, '--ozone-platform=headless', TRAINER_HOST_SWITCH],
      env: {},
    });
    const catalog = createTrainerCatalog([textDetectorTrainer], { runtime: trainerHostRuntime(dev) });
    const launch = catalog.launch('example');
    expect(launch.command).toEqual([
      '/opt/electron/electron',
      dev.appPath,
      '--ozone-platform=headless',
      TRAINER_HOST_SWITCH,
      join(repo, 'libs', 'training', 'examples', 'example-trainer.mjs'),
    ]);
    // What the trainer's environment is made of: the allowlist, the runtime's (nothing), the protocol's.
    const env = trainerEnvironment({
      source: { PATH: '/bin', TRAINYARD_TOKEN: 'secret', ELECTRON_RUN_AS_NODE: '1', NODE_OPTIONS: '-r x' },
      runtime: launch.env,
      protocol: { TRAINYARD_JOB_DIR: '/jobs/1' },
    });
    expect(env).toEqual({ PATH: '/bin', TRAINYARD_JOB_DIR: '/jobs/1' });
  });

  it("the trainer host runs exactly the built-in trainers the built server's catalog starts, and nothing else", () => {
    const runtime = trainerHostRuntime(dev);
    // The desktop runs the built server: its text-detector is the built one (this test runs from sources).
    const builtTextDetector = { ...textDetectorTrainer, nodeArgs: entryNodeArgs(serverEntries.textDetectorTrainer, builtLayout(repo)) };
    const catalog = createTrainerCatalog([builtTextDetector], { runtime });
    const allowed = builtinTrainerEntries(repo);
    expect(
      catalog
        .list()
        .map((trainer) => trainer.name)
        .sort(),
    ).toEqual(['example', 'text-detector']);
    // The argv the host receives is the catalog's command as is (Electron adds nothing we rely on).
    for (const trainer of catalog.list()) {
      const request = trainerHostRequest(catalog.launch(trainer.name).command, allowed);
      expect(request?.entry).toBe(trainer.nodeArgs?.at(-1));
    }
    expect(trainerHostRequest(catalog.launch('text-detector').command, allowed)).toEqual({
      entry: join(repo, 'apps', 'server', 'dist', 'text-detector-trainer.js'),
      sourceMaps: true,
      args: [],
    });
    expect(trainerHostRequest(catalog.launch('example').command, allowed)).toEqual({
      entry: join(repo, 'libs', 'training', 'examples', 'example-trainer.mjs'),
      sourceMaps: false,
      args: [],
    });
    expect(trainerHostRequest(['/opt/electron/electron', dev.appPath], allowed)).toBeUndefined();
    expect(() => trainerHostRequest([...runtime.args, '/tmp/evil.mjs'], allowed)).toThrow(/not a built-in trainer/);
    // No loaders or other options: not tsx's (the built trainer needs none), not anyone's.
    for (const option of ['--import', '--require', '--loader']) {
      expect(() => trainerHostRequest([...runtime.args, option, 'data:text/javascript,evil()', allowed[0] ?? ''], allowed)).toThrow(/not a built-in trainer/);
    }
    expect(() => trainerHostRequest([...runtime.args, '--enable-source-maps', '--import', 'x', allowed[1] ?? ''], allowed)).toThrow(/not a built-in trainer/);
    expect(() => trainerHostRequest([...runtime.args], allowed)).toThrow(/not a built-in trainer/);
  });
});
