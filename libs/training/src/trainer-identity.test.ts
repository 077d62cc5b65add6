import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPath, sha256Hex } from '@trainyard/core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTrainerCatalog, type NodeBuiltinTrainer, type PythonBuiltinTrainer } from './trainer-catalog';
import { captureTrainerIdentity, codeHashOf, gitStateOf } from './trainer-identity';

const version = (JSON.parse(readFileSync(installPath('package.json'), 'utf8')) as { version: string }).version;
const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();

/** A git checkout at `cwd` whose one commit holds `name` with `text`. */
const committedCheckout = (cwd: string, name: string, text: string): void => {
  git(cwd, 'init', '-q');
  writeFileSync(join(cwd, name), text);
  git(cwd, 'add', '.');
  git(cwd, 'commit', '-q', '-m', name);
};

describe('trainer identity capture', () => {
  // The install's own tmp/ (git-ignored): a fresh clone has none until a build makes it.
  beforeAll(() => mkdirSync(installPath('tmp'), { recursive: true }));

  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'identity-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a command in a git checkout: its commit, clean then dirty, and the SHA-256 of each argument that is an existing file', async () => {
    git(dir, 'init', '-q');
    writeFileSync(join(dir, 'train.py'), 'print(1)\n');
    writeFileSync(join(dir, 'config.yaml'), 'lr: 0.1\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'first');
    const commit = git(dir, 'rev-parse', 'HEAD');
    const catalog = createTrainerCatalog();
    const spec = { kind: 'command' as const, command: ['python3', 'train.py', '--config', join(dir, 'config.yaml'), 'missing.txt', '--epochs', '3'], cwd: dir };
    const clean = await captureTrainerIdentity(spec, { catalog });
    expect(clean).toEqual({
      kind: 'command',
      command: spec.command,
      cwd: dir,
      git: { commit, dirty: false },
      // python3 is not a file in cwd, missing.txt does not exist, --epochs and 3 are no paths.
      files: [
        { path: 'train.py', sha256: sha256Hex('print(1)\n') },
        { path: join(dir, 'config.yaml'), sha256: sha256Hex('lr: 0.1\n') },
      ],
      projectVersion: version,
    });
    writeFileSync(join(dir, 'train.py'), 'print(2)\n');
    const dirty = await captureTrainerIdentity(spec, { catalog });
    expect(dirty.kind === 'command' && dirty.git).toEqual({ commit, dirty: true, diffSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(dirty.kind === 'command' && dirty.files[0]?.sha256).toBe(sha256Hex('print(2)\n'));
  });

  it("reading a checkout's state never runs a program its own config names (core.fsmonitor)", async () => {
    committedCheckout(dir, 'a', 'a');
    const marker = join(dir, 'fsmonitor-ran');
    git(dir, 'config', 'core.fsmonitor', `touch ${marker}; false`);
    expect(await gitStateOf(dir)).toMatchObject({ dirty: false });
    expect(existsSync(marker)).toBe(false);
  });

  it('two dirty checkouts on one commit with other changes hash differently; the same changes hash the same; no diff driver of the checkout runs', async () => {
    committedCheckout(dir, 'model.py', 'layers = 2\n');
    const marker = join(dir, 'driver-ran');
    git(dir, 'config', 'diff.external', `sh -c 'touch ${marker}'`);
    writeFileSync(join(dir, '.gitattributes'), 'model.py diff=conv\n');
    git(dir, 'config', 'diff.conv.textconv', `sh -c 'touch ${marker}; cat'`);
    // A filter driver's clean command runs in status and diff alike, for every file its attributes name.
    writeFileSync(join(dir, '.git', 'info', 'attributes'), 'model.py filter=scrub\n');
    git(dir, 'config', 'filter.scrub.clean', `sh -c 'touch ${marker}; cat'`);
    writeFileSync(join(dir, 'model.py'), 'layers = 3\n');
    const first = await gitStateOf(dir);
    expect(first).toMatchObject({ dirty: true, diffSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await gitStateOf(dir)).toEqual(first);
    // Another user's diff settings do not change the hash of the same changes.
    const otherSettings: Array<[string, string]> = [
      ['diff.noprefix', 'true'],
      ['diff.context', '10'],
      ['diff.algorithm', 'patience'],
      ['diff.renames', 'copies'],
    ];
    for (const [key, value] of otherSettings) git(dir, 'config', key, value);
    expect(await gitStateOf(dir)).toEqual(first);
    writeFileSync(join(dir, 'model.py'), 'layers = 4\n');
    const second = await gitStateOf(dir);
    expect(second?.commit).toBe(first?.commit);
    expect(second?.diffSha256).not.toBe(first?.diffSha256);
    expect(existsSync(marker)).toBe(false);
  });

  it("the server's GIT_* variables do not point git elsewhere", async () => {
    committedCheckout(dir, 'a', 'a');
    const other = mkdtempSync(join(tmpdir(), 'identity-other-'));
    const saved = process.env['GIT_DIR'];
    try {
      committedCheckout(other, 'b', 'b');
      process.env['GIT_DIR'] = join(other, '.git');
      expect((await gitStateOf(dir))?.commit).toBe(git(dir, '--git-dir', join(dir, '.git'), 'rev-parse', 'HEAD'));
    } finally {
      if (saved === undefined) delete process.env['GIT_DIR'];
      else process.env['GIT_DIR'] = saved;
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('an untracked file does not make the checkout dirty; outside a git checkout git is null', async () => {
    committedCheckout(dir, 'a', 'a');
    writeFileSync(join(dir, 'untracked'), 'b');
    expect((await gitStateOf(dir))?.dirty).toBe(false);
    const plain = mkdtempSync(join(tmpdir(), 'identity-plain-'));
    try {
      expect(await gitStateOf(plain)).toBeNull();
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('a command without a working directory hashes only absolute paths', async () => {
    writeFileSync(join(dir, 'train.sh'), 'echo hi\n');
    const identity = await captureTrainerIdentity({ kind: 'command', command: ['sh', join(dir, 'train.sh'), 'train.sh'] }, { catalog: createTrainerCatalog() });
    expect(identity).toMatchObject({ cwd: null, git: null, files: [{ path: join(dir, 'train.sh'), sha256: sha256Hex('echo hi\n') }] });
  });

  it("a Python built-in: its script, then its package's and the SDK package's .py files; a TypeScript entry (sources) is hashed alone", async () => {
    const pkg = mkdtempSync(join(installPath('tmp'), 'identity-py-'));
    try {
      writeFileSync(join(pkg, 'train.py'), 'import model\n');
      writeFileSync(join(pkg, 'model.py'), 'X = 1\n');
      writeFileSync(join(pkg, 'notes.txt'), 'not code');
      writeFileSync(join(pkg, 'entry.ts'), 'import { a } from "./chunk.js";\n');
      const python: PythonBuiltinTrainer = {
        name: 'py',
        description: 'x',
        hyperparameters: z.strictObject({}),
        python: { script: join(pkg, 'train.py'), path: [pkg] },
      };
      const ts: NodeBuiltinTrainer = {
        name: 'ts',
        description: 'x',
        hyperparameters: z.strictObject({}),
        nodeArgs: ['--import', 'file:///tsx/loader.mjs', join(pkg, 'entry.ts')],
      };
      const catalog = createTrainerCatalog([python, ts]);
      const relative = pkg.slice(installPath().length + 1);
      const py = await captureTrainerIdentity({ kind: 'builtin', name: 'py' }, { catalog });
      const paths = py.kind === 'builtin' ? py.files.map((file) => file.path) : [];
      expect(paths[0]).toBe(`${relative}/train.py`);
      expect(paths).toContain(`${relative}/model.py`);
      expect(paths).toContain('libs/trainer-sdk-python/trainyard/_run.py');
      // The SDK's tests and examples never run in a job: a change to them is no change of the trainer.
      expect(paths.filter((path) => /trainer-sdk-python\/(tests|examples)\//.test(path))).toEqual([]);
      expect(paths.filter((path) => !path.endsWith('.py'))).toEqual([]);
      const fromSources = await captureTrainerIdentity({ kind: 'builtin', name: 'ts' }, { catalog });
      expect(fromSources.kind === 'builtin' && fromSources.files.map((file) => file.path)).toEqual([`${relative}/entry.ts`]);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it("a Node built-in: its entry and the chunks it imports, transitively, by install-relative path; the code hash is deterministic and follows a chunk's change", async () => {
    const dist = mkdtempSync(join(installPath('tmp'), 'identity-dist-'));
    try {
      writeFileSync(join(dist, 'entry.js'), 'import { a } from "./chunk-a.js";\nimport "./chunk-b.js";\nimport { join } from "node:path";\n');
      writeFileSync(join(dist, 'chunk-a.js'), 'import { b } from "./chunk-b.js";\nexport const a = 1;\n');
      writeFileSync(join(dist, 'chunk-b.js'), 'export const b = 2;\n');
      const trainer: NodeBuiltinTrainer = {
        name: 'fake',
        description: 'x',
        hyperparameters: z.strictObject({}),
        nodeArgs: ['--enable-source-maps', join(dist, 'entry.js')],
      };
      const catalog = createTrainerCatalog([trainer]);
      const first = await captureTrainerIdentity({ kind: 'builtin', name: 'fake' }, { catalog });
      const relative = dist.slice(installPath().length + 1);
      expect(first.kind === 'builtin' && first.files.map((file) => file.path)).toEqual([
        `${relative}/entry.js`,
        `${relative}/chunk-a.js`,
        `${relative}/chunk-b.js`,
      ]);
      expect(first).toMatchObject({ kind: 'builtin', name: 'fake', projectVersion: version });
      expect(first.kind === 'builtin' && first.codeSha256).toBe(codeHashOf(first.kind === 'builtin' ? first.files : []));
      expect(await captureTrainerIdentity({ kind: 'builtin', name: 'fake' }, { catalog })).toEqual(first);
      writeFileSync(join(dist, 'chunk-b.js'), 'export const b = 3;\n');
      const changed = await captureTrainerIdentity({ kind: 'builtin', name: 'fake' }, { catalog });
      expect(changed.kind === 'builtin' && changed.codeSha256).not.toBe(first.kind === 'builtin' && first.codeSha256);
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
