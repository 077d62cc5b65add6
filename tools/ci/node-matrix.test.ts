import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(resolve(root, path), 'utf8')) as T;

interface NodeVersions {
  tested: string[];
  electron: { version: string; bundledNodeMajor: number };
}
const matrix = readJson<NodeVersions>('tools/ci/node-versions.json');
const pkg = readJson<{ engines: { node: string }; devDependencies: Record<string, string> }>('package.json');
const major = (version: string): number => Number(version.split('.')[0]);
const minor = (version: string): number => Number(version.split('.')[1]);

describe('the Node versions CI runs on (tools/ci/node-versions.json, .ci/run)', () => {
  it('include the Node major that the Electron release we ship bundles', () => {
    expect(matrix.electron.version).toBe(pkg.devDependencies['electron']);
    expect(matrix.tested.map(major)).toContain(matrix.electron.bundledNodeMajor);
  });

  it('are the ones package.json engines and the docs promise (22.12+ and 24; Node 20 is best-effort legacy)', () => {
    expect(pkg.engines.node).toBe('>=22.12');
    for (const version of matrix.tested) expect(major(version) > 22 || (major(version) === 22 && minor(version) >= 12)).toBe(true);
    expect(matrix.tested.map(major)).toEqual([22, 24]);
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    expect(readme).toContain('Node.js 22.12+ or 24');
    const desktop = readFileSync(resolve(root, 'docs/web-and-desktop.md'), 'utf8');
    expect(desktop).toContain(`Electron ${matrix.electron.version}`);
    expect(desktop).toContain(`Node ${matrix.electron.bundledNodeMajor}`);
    const testing = readFileSync(resolve(root, 'docs/testing.md'), 'utf8');
    for (const version of matrix.tested) expect(testing).toContain(version);
  });

  // .ci/run sets TRAINYARD_EXPECT_NODE for each compat run: prove that run (and the `node` its
  // child processes start from PATH: servers, CLIs, tsx) really is on that release.
  const expected = process.env['TRAINYARD_EXPECT_NODE'] || undefined;
  it.runIf(expected !== undefined)(`runs on Node ${expected ?? '(any)'}, and so do child processes`, () => {
    expect(process.version).toBe(`v${expected}`);
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${expected}`);
  });
});
