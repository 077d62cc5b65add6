import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeChild, startBackend, stopChild } from './backend-process';
import { serverEnvironment, serverLaunch } from './server-launch';

const repo = resolve('.');
const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-desktop-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// The desktop app's launch, with Node in place of Electron's utility process: the same built
// bootstrap (dist/server-entry.cjs, from `npm run build:desktop`), arguments and environment.
const plan = serverLaunch({
  packaged: false,
  appPath: join(repo, 'apps', 'desktop'),
  resourcesPath: '/nonexistent',
  execPath: process.execPath,
  platform: process.platform,
});
const launch = (args: readonly string[] = plan.args) => ({
  env: { ...serverEnvironment(process.env, plan.env), TRAINYARD_DEMO_DATA: 'off' },
  dataDir,
  start: (env: Record<string, string>) =>
    nodeChild(spawn(process.execPath, [plan.modulePath, ...args], { cwd: plan.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })),
});

describe('desktop backend process', () => {
  it('starts the real server on a random loopback port with a fresh token, healthy, and stops it cleanly', async () => {
    const first = await startBackend(launch());
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.token).toMatch(/^[\w-]{43}$/);
    const health = await fetch(`${first.url}/trpc/system.health`, { headers: { authorization: `Bearer ${first.token}` } });
    expect(health.status).toBe(200);
    expect((await fetch(`${first.url}/trpc/system.health`)).status).toBe(401);
    expect((await fetch(`${first.url}/`)).headers.get('content-security-policy')).toContain("default-src 'self'");
    await first.stop();
    await expect(first.child.exited).resolves.toBe(0);
    // Stopped cleanly: the data directory lock and session file are released, so a second start works.
    expect(existsSync(join(dataDir, 'session.json'))).toBe(false);
    const second = await startBackend(launch());
    expect(second.token).not.toBe(first.token);
    await second.stop();
  }, 120_000);

  it('reports a server that cannot start, with its output', async () => {
    await expect(startBackend(launch(['--trainyard-server-main']))).rejects.toThrow(/exited \(1\)[\s\S]*expected --trainyard-server-main/);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise((resolveUp) => child.stdout.once('data', resolveUp));
    const started = Date.now();
    await stopChild(nodeChild(child), 300);
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
