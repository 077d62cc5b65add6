import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBackend, stopChild } from './backend-process';
import { serverLaunch } from './server-launch';

const repo = resolve('.');
const dataDir = mkdtempSync(join(tmpdir(), 'trainyard-desktop-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// The desktop app's launch, with Node in place of Electron-as-Node (the same flags and entry point).
const launch = () => {
  const plan = serverLaunch({ packaged: false, appPath: join(repo, 'apps', 'desktop'), resourcesPath: '/nonexistent', electronPath: process.execPath });
  return { ...plan, env: { ...process.env, ...plan.env, TRAINYARD_DEMO_DATA: 'off' }, dataDir };
};

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
    expect(first.child.exitCode).toBe(0);
    // Stopped cleanly: the data directory lock and session file are released, so a second start works.
    expect(existsSync(join(dataDir, 'session.json'))).toBe(false);
    const second = await startBackend(launch());
    expect(second.token).not.toBe(first.token);
    await second.stop();
  }, 120_000);

  it('reports a server that cannot start, with its output', async () => {
    await expect(startBackend({ ...launch(), args: ['-e', 'console.error("boom"); process.exit(3)'] })).rejects.toThrow(/exited \(3\)[\s\S]*boom/);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async () => {
    const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolveUp) => child.stdout.once('data', resolveUp));
    const started = Date.now();
    await stopChild(child, 300);
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
