import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtLayout, entryNodeArgs, serverEntries } from '@trainyard/core';
import { builtServerMain } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The server as it ships: built JavaScript run by plain Node from a copy of the installation that
// holds what the desktop app copies beside itself (electron-builder.yml's extraResources) — no
// TypeScript sources, and node_modules without tsx — so nothing it runs (the server and CLI, the
// import worker thread, the text-detector trainer) can fall back on tsx.
const repo = resolve(import.meta.dirname, '..', '..', '..');
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };
const scratch = mkdtempSync(join(tmpdir(), 'trainyard-built-'));
const install = join(scratch, 'app');
/** Development-only packages the copy leaves out: above all, no tsx. */
const LEFT_OUT = new Set(['tsx', 'esbuild', '@esbuild', '.bin']);

/** What electron-builder.yml copies beside the app, apart from node_modules. */
const shippedPaths = (): string[] => {
  const config = yaml.load(readFileSync(join(repo, 'apps', 'desktop', 'electron-builder.yml'), 'utf8')) as { extraResources: Array<{ filter: string[] }> };
  return (config.extraResources[0]?.filter ?? [])
    .filter((pattern) => !pattern.startsWith('!') && pattern !== 'node_modules/**')
    .map((pattern) => pattern.replace(/\/\*\*$/, ''));
};

beforeAll(() => {
  builtServerMain(); // refuses a missing or stale build
  for (const path of shippedPaths()) cpSync(join(repo, path), join(install, path), { recursive: true });
  mkdirSync(join(install, 'node_modules'));
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (!LEFT_OUT.has(name)) symlinkSync(join(repo, 'node_modules', name), join(install, 'node_modules', name));
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
}

/** `node --enable-source-maps <install>/apps/server/dist/main.js …`: what `npm start` and `trainyard` run. */
const trainyard = (args: string[], env: Record<string, string>): Run => {
  const main = join(install, 'apps', 'server', 'dist', 'main.js');
  const child = spawn(process.execPath, ['--enable-source-maps', main, ...args], {
    cwd: scratch,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
};
const finished = async (run: Run): Promise<{ code: number | string; output: string }> => ({ code: await run.exited, output: run.output() });

describe('the built server, from an installation without sources or tsx', () => {
  it('has no tsx to fall back on, and its CLI runs', async () => {
    expect(() => createRequire(join(install, 'package.json')).resolve('tsx')).toThrow();
    expect(readdirSync(join(install, 'apps', 'server'))).toEqual(['dist']);
    const version = await finished(trainyard(['--version'], {}));
    expect(version).toEqual({ code: 0, output: `${(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version}\n` });
  });

  it('serves the web UI on a fresh data dir (migrations applied), imports through its worker thread and trains the text-detector', async () => {
    const dataDir = join(scratch, 'data');
    const env = { TRAINYARD_DATA_DIR: dataDir, TRAINYARD_DEMO_DATA: 'off' };
    const server = trainyard(['serve'], { ...env, PORT: '0' });
    try {
      await expect.poll(() => /Trainyard listening on (\S+)/.exec(server.output())?.[1], { timeout: 60_000, interval: 100 }).toBeDefined();
      const url = /Trainyard listening on (\S+)/.exec(server.output())?.[1] ?? '';
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');

      const pairs = join(scratch, 'pairs.jsonl');
      writeFileSync(
        pairs,
        `${syntheticPairs(400, 7)
          .map((pair) => JSON.stringify(pair))
          .join('\n')}\n`,
      );
      const imported = await finished(trainyard(['data', 'import', pairs, '--json'], env));
      expect(imported.code).toBe(0);
      expect(imported.output).toContain('"imported": 400');
      const snapshot = await finished(trainyard(['datasets', 'snapshot', '--name', 'built', '--json'], env));
      const snapshotId = (JSON.parse(snapshot.output.slice(snapshot.output.indexOf('{'))) as { id: string }).id;
      const trained = await finished(
        trainyard(
          [
            'jobs',
            'start',
            '--name',
            'built',
            '--trainer',
            'text-detector',
            '--snapshot',
            snapshotId,
            '--param',
            'epochs=1',
            '--param',
            'hashBits=12',
            '--follow',
          ],
          env,
        ),
      );
      expect(trained.output).toMatch(/metric val_accuracy step \d+ = /);
      expect(trained.output).toMatch(/succeeded/);
      expect(trained.code).toBe(0);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 180_000);

  it('refuses to apply a migration newer than the build (a `git pull` without `npm run build:server`), and says what to run', async () => {
    const newer = join(install, 'prisma', 'migrations', '29991231235959_newer_than_the_build');
    mkdirSync(newer);
    writeFileSync(join(newer, 'migration.sql'), 'CREATE TABLE "NewerThanTheBuild" ("id" TEXT PRIMARY KEY);\n');
    try {
      const refusal = `Error: apps/server/dist was built before migration 29991231235959_newer_than_the_build: run \`npm run build:server\` (or \`npm ci\`)\n`;
      const env = { TRAINYARD_DATA_DIR: join(scratch, 'stale-build-data'), TRAINYARD_DEMO_DATA: 'off' };
      const server = trainyard(['serve'], { ...env, PORT: '0' });
      // A server that starts after all would serve on: stopped, so the failure is the assertion's.
      const started = setTimeout(() => server.child.kill('SIGTERM'), 20_000);
      try {
        expect(await finished(server)).toEqual({ code: 1, output: refusal });
      } finally {
        clearTimeout(started);
      }
      expect(await finished(trainyard(['migrate'], env))).toEqual({ code: 1, output: refusal });
    } finally {
      rmSync(newer, { recursive: true, force: true });
    }
  });

  it('`npx trainyard` (the bin) runs the built CLI with source maps, and without a build says how to make it', async () => {
    const bin = (root: string, args = ['--version'], env: Record<string, string> = {}) =>
      spawn(process.execPath, [join(root, 'apps', 'server', 'bin', 'trainyard.mjs'), ...args], {
        cwd: scratch,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const result = async (child: ChildProcess) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise((done) => child.once('exit', done));
      return { code, output };
    };
    cpSync(join(repo, 'apps', 'server', 'bin'), join(install, 'apps', 'server', 'bin'), { recursive: true });
    try {
      expect(await result(bin(install))).toEqual({ code: 0, output: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) as unknown });
      // An unexpected error (the data dir lies under a file): its stack names the TypeScript lines.
      const file = join(scratch, 'not-a-dir');
      writeFileSync(file, '');
      const failed = await result(bin(install, ['serve'], { TRAINYARD_DATA_DIR: join(file, 'data'), PORT: '0' }));
      expect(failed.code).toBe(1);
      expect(failed.output).toMatch(/\(\S+apps\/server\/src\/runtime\/data-dir-lock\.ts:\d+:\d+\)/);
      const unbuilt = join(scratch, 'unbuilt');
      cpSync(join(repo, 'apps', 'server', 'bin'), join(unbuilt, 'apps', 'server', 'bin'), { recursive: true });
      const missing = await result(bin(unbuilt));
      expect(missing.code).toBe(1);
      expect(missing.output).toMatch(/not built .* run npm run build:server/);
    } finally {
      rmSync(join(install, 'apps', 'server', 'bin'), { recursive: true, force: true });
    }
  });

  it("stack traces name the TypeScript sources' lines (source maps), for the server and for the built trainer", async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    // An unexpected error (the data dir lies under a file) shows its stack.
    const server = await finished(trainyard(['serve'], { TRAINYARD_DATA_DIR: join(file, 'data'), PORT: '0' }));
    expect(server.code).toBe(1);
    expect(server.output).toMatch(/Unexpected error: Error: ENOTDIR/);
    expect(server.output).toMatch(/at async \w+ \(\S+apps\/server\/src\/runtime\/data-dir-lock\.ts:\d+:\d+\)/);
    expect(server.output).not.toMatch(/dist\/main\.js:\d+/);

    // The built trainer as the built server starts it, outside a job: it throws at once.
    const trainerArgs = entryNodeArgs(serverEntries.textDetectorTrainer, builtLayout(install));
    const environment: Record<string, string> = { ...(process.env as Record<string, string>) };
    delete environment['TRAINYARD_JOB_DIR'];
    const trainer = spawn(process.execPath, trainerArgs, { cwd: scratch, env: environment, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    trainer.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((done) => trainer.once('exit', done))).toBe(1);
    expect(stderr).toMatch(/TRAINYARD_JOB_DIR is not set/);
    expect(stderr).toMatch(/\(\S+libs\/trainers\/src\/trainer-sdk\.ts:\d+:\d+\)/);
  });
});
