import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtServerMain } from '@trainyard/test-services';
import { afterAll, describe, expect, it } from 'vitest';

// The built runner as it ships: one file, copied alone into an empty directory, run by plain node.
const built = fileURLToPath(new URL('../dist/runner.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'runner-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) => {
  const { PATH, HOME } = process.env;
  return spawnSync(process.execPath, [join(dir, 'runner.js'), ...args], { cwd: dir, env: { PATH: PATH ?? '', HOME: HOME ?? '', ...env }, encoding: 'utf8' });
};

describe('the runner program (apps/runner/dist/runner.js)', () => {
  it('runs alone from an empty directory: no node_modules, no install step; its help names the token variable', () => {
    builtServerMain(); // refuses a stale build (the runner is part of it)
    cpSync(built, join(dir, 'runner.js'));
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--server <url>/);
    expect(help.stdout).toMatch(/--job <id>/);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('The job token is read from TRAINYARD_JOB_TOKEN, never from the command line');
  });

  it('without a token it exits 70 and says which variable to set; it takes no token argument', () => {
    const missing = run(['--server', 'http://127.0.0.1:9', '--job', '01a22000-0000-7000-8000-000000000001']);
    expect(missing.status).toBe(70);
    expect(missing.stderr).toContain('[runner] no job token: set TRAINYARD_JOB_TOKEN');
    const asArgument = run(['--server', 'http://127.0.0.1:9', '--job', 'x', '--token', 'tyj_x']);
    expect(asArgument.status).not.toBe(0);
    expect(asArgument.stderr).toMatch(/unknown option '--token'/);
  });

  it('takes the server and job from TRAINYARD_SERVER_URL and TRAINYARD_JOB_ID without flags (SageMaker’s `train` start), and says what is missing', () => {
    const fromEnv = run(['train'], { TRAINYARD_SERVER_URL: 'http://127.0.0.1:9', TRAINYARD_JOB_ID: '01a22000-0000-7000-8000-000000000001' });
    expect(fromEnv.status).toBe(70);
    expect(fromEnv.stderr).toContain('[runner] no job token: set TRAINYARD_JOB_TOKEN');
    const none = run([]);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('no server: give --server <url> or set TRAINYARD_SERVER_URL');
    const noJob = run(['--server', 'http://127.0.0.1:9']);
    expect(noJob.stderr).toContain('no job: give --job <id> or set TRAINYARD_JOB_ID');
    expect(run(['deploy'], { TRAINYARD_SERVER_URL: 'http://x', TRAINYARD_JOB_ID: 'j' }).stderr).toContain("unknown argument 'deploy'");
  });
});
