import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { HashedFile, TrainerIdentity, TrainerSpec } from '@trainyard/contracts';
import { installPath, sha256Hex } from '@trainyard/core';
import { PYTHON_SDK_DIR, type TrainerCatalog } from './trainer-catalog';

const run = promisify(execFile);

/** Trainyard's own version (the installation's package.json), part of every identity. */
export const projectVersion = async (): Promise<string> => (JSON.parse(await readFile(installPath('package.json'), 'utf8')) as { version: string }).version;

export const sha256OfFile = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
};

const isFile = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined))?.isFile() ?? false;

/** The installation-relative name of a file (so two machines with different install directories agree), with / separators. */
const installRelative = (path: string): string => {
  const inside = relative(installPath(), path);
  return (inside.startsWith('..') || isAbsolute(inside) ? path : inside).split(sep).join('/');
};

// A bundled module's static imports of its sibling chunks: `from "./train-X.js"`, `import "./x.js"`.
const RELATIVE_IMPORT = /(?:from|import)\s*["'](\.{1,2}\/[^"']+\.m?js)["']/g;

/**
 * A Node trainer's files: its entry file and, for JavaScript, every relative module it imports
 * statically, transitively (the server's build splits a trainer into chunks). From TypeScript
 * sources (tsx) only the entry file is followed.
 */
const nodeTrainerFiles = async (entry: string): Promise<string[]> => {
  const seen = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file) || !(await isFile(file))) return;
    seen.add(file);
    if (!/\.m?js$/.test(file)) return;
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) await visit(resolve(dirname(file), match[1] ?? ''));
  };
  await visit(entry);
  return [...seen];
};

/** Every .py file under a directory, sorted (a Python trainer's package and the SDK). */
const pythonFiles = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.py'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
};

const hashFiles = async (paths: readonly string[], name: (path: string) => string): Promise<HashedFile[]> =>
  Promise.all(paths.map(async (path) => ({ path: name(path), sha256: await sha256OfFile(path) })));

/** One hash for a trainer's code: over each file's name and hash, in order. */
export const codeHashOf = (files: readonly HashedFile[]): string => sha256Hex(files.map((file) => `${file.sha256}  ${file.path}\n`).join(''));

// A checkout's own config must not run programs here: core.fsmonitor is a command `git status`
// would start, hooks are commands, a filter driver's clean/process command runs on every file
// its attributes name (status and diff both), external diff drivers and textconv filters run
// in `git diff` (off by its flags below). Nor may the server's own GIT_* variables (GIT_DIR,
// GIT_INDEX_FILE, GIT_CONFIG_PARAMETERS…) point git elsewhere.
const SAFE_GIT = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null'];
const gitEnv = (): NodeJS.ProcessEnv =>
  // eslint-disable-next-line no-restricted-properties -- not configuration: git inherits the server's environment minus GIT_*
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));

/** `-c` settings that switch off every filter driver the checkout's config defines (reading config runs nothing). */
const filtersOff = async (dir: string): Promise<string[]> => {
  const { stdout } = await run('git', ['config', '--name-only', '--get-regexp', '^filter\\.'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 10_000,
    env: gitEnv(),
  }).catch(
    () => ({ stdout: '' }), // exits 1 when there is none
  );
  const drivers = new Set(stdout.split('\n').flatMap((name) => /^filter\.(.+)\.[^.]+$/.exec(name.trim())?.[1] ?? []));
  return [...drivers].flatMap((driver) =>
    ['clean', 'smudge', 'process'].flatMap((key) => ['-c', `filter.${driver}.${key}=`]).concat(['-c', `filter.${driver}.required=false`]),
  );
};

// The diff's bytes must not depend on who runs it: every option a user's config could change is pinned.
const PINNED_DIFF = [
  '--no-ext-diff',
  '--no-textconv',
  '--binary',
  '--no-color',
  '--no-renames',
  '--diff-algorithm=myers',
  '--indent-heuristic',
  '--unified=3',
  '--inter-hunk-context=0',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--submodule=short',
  '--no-relative',
  '-O/dev/null',
];

/** SHA-256 of `git diff HEAD` (tracked files' uncommitted changes, binary ones included), streamed: a diff may be large. */
const uncommittedDiffSha256 = (dir: string, safe: readonly string[]): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn('git', [...safe, '-c', 'core.quotePath=true', '--no-optional-locks', 'diff', 'HEAD', ...PINNED_DIFF], {
      cwd: dir,
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const hash = createHash('sha256');
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolvePromise(hash.digest('hex')) : reject(new Error(`git diff exited ${code}`))));
  });

/**
 * HEAD's commit of the git checkout at `dir`, whether its tracked files differ from it and, when
 * they do, a hash of those changes (so two dirty checkouts with other changes differ; absent when
 * the diff could not be taken); null when it is not one (or git is missing).
 */
export const gitStateOf = async (dir: string): Promise<{ commit: string; dirty: boolean; diffSha256?: string } | null> => {
  try {
    const options = { cwd: dir, encoding: 'utf8' as const, timeout: 10_000, env: gitEnv() };
    const safe = [...SAFE_GIT, ...(await filtersOff(dir))];
    const { stdout: commit } = await run('git', [...safe, 'rev-parse', '--verify', 'HEAD'], options);
    const { stdout: status } = await run('git', [...safe, '--no-optional-locks', 'status', '--porcelain', '--untracked-files=no'], options);
    if (status.trim() === '') return { commit: commit.trim(), dirty: false };
    const diffSha256 = await uncommittedDiffSha256(dir, safe).catch(() => undefined);
    return { commit: commit.trim(), dirty: true, ...(diffSha256 ? { diffSha256 } : {}) };
  } catch {
    return null;
  }
};

/**
 * What runs for this trainer on this machine now: a built-in's files and code hash, or a
 * command with its working directory's git state and the hash of each argument that names an
 * existing file (a relative one against the working directory; without one, only absolute paths).
 */
export const captureTrainerIdentity = async (spec: TrainerSpec, deps: { catalog: TrainerCatalog }): Promise<TrainerIdentity> => {
  const version = await projectVersion();
  if (spec.kind === 'builtin') {
    const trainer = deps.catalog.get(spec.name);
    const paths = trainer.python
      ? [
          trainer.python.script,
          // The SDK's package, not its tests and examples, which never run in a job.
          ...(await Promise.all([join(PYTHON_SDK_DIR, 'trainyard'), ...trainer.python.path].map(pythonFiles)))
            .flat()
            .filter((file) => file !== trainer.python?.script),
        ]
      : (await Promise.all(trainer.nodeArgs.filter((arg) => isAbsolute(arg)).map(nodeTrainerFiles))).flat();
    const files = await hashFiles(paths, installRelative);
    return { kind: 'builtin', name: spec.name, codeSha256: codeHashOf(files), files, projectVersion: version };
  }
  const cwd = spec.cwd ?? null;
  const named: Array<{ arg: string; path: string }> = [];
  for (const arg of spec.command) {
    if (!isAbsolute(arg) && !cwd) continue;
    const path = isAbsolute(arg) ? arg : resolve(cwd ?? '', arg);
    if (await isFile(path)) named.push({ arg, path });
  }
  const files = await Promise.all(named.map(async ({ arg, path }) => ({ path: arg, sha256: await sha256OfFile(path) })));
  return { kind: 'command', command: [...spec.command], cwd, git: cwd ? await gitStateOf(cwd) : null, files, projectVersion: version };
};
