import type { TrainerIdentity } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { diffTrainerIdentities } from './identity-diff';

const a = 'a'.repeat(64);
const b = 'b'.repeat(64);
const c = 'c'.repeat(64);

const builtin: TrainerIdentity = { kind: 'builtin', name: 'text-detector', codeSha256: a, files: [{ path: 'dist/t.js', sha256: b }], projectVersion: '0.1.0' };
const command: TrainerIdentity = {
  kind: 'command',
  command: ['python3', 'train.py'],
  cwd: '/work/project',
  git: { commit: '1'.repeat(40), dirty: false },
  files: [{ path: 'train.py', sha256: a }],
  projectVersion: '0.1.0',
  packages: { python: '3.11.7', torch: '1.13.1' },
};

describe('trainer identity differences', () => {
  it('the same identity differs in nothing', () => {
    expect(diffTrainerIdentities(builtin, builtin)).toEqual([]);
    expect(diffTrainerIdentities(command, command)).toEqual([]);
  });

  it("a built-in's code hash, naming the files that changed", () => {
    const here: TrainerIdentity = { ...builtin, codeSha256: c, files: [{ path: 'dist/t.js', sha256: c }] };
    expect(diffTrainerIdentities(builtin, here)).toEqual([
      { field: 'code', recorded: a, here: c, message: `text-detector's code differs: sha256 ${a.slice(0, 12)}… recorded, ${c.slice(0, 12)}… here (dist/t.js)` },
    ]);
  });

  it("a command's changed and missing file, commit, dirty state, working directory, argv, packages and project version, each on its own", () => {
    const here: TrainerIdentity = {
      kind: 'command',
      command: ['python3', 'train.py', '--fast'],
      cwd: '/elsewhere',
      git: { commit: '2'.repeat(40), dirty: true },
      files: [],
      projectVersion: '0.2.0',
      packages: { python: '3.12.1' },
    };
    const fields = diffTrainerIdentities(command, here).map((difference) => [difference.field, difference.recorded, difference.here]);
    expect(fields).toEqual([
      ['command', 'python3 train.py', 'python3 train.py --fast'],
      ['cwd', '/work/project', '/elsewhere'],
      ['git.commit', '1'.repeat(40), '2'.repeat(40)],
      ['git.dirty', 'false', 'true'],
      ['file:train.py', a, null],
      ['package:python', '3.11.7', '3.12.1'],
      ['package:torch', '1.13.1', null],
      ['projectVersion', '0.1.0', '0.2.0'],
    ]);
  });

  it('two dirty checkouts differ by their uncommitted changes when both were hashed; an identity recorded before diffs were hashed does not', () => {
    const dirty = (diffSha256?: string): TrainerIdentity => ({
      ...command,
      git: { commit: '1'.repeat(40), dirty: true, ...(diffSha256 ? { diffSha256 } : {}) },
    });
    expect(diffTrainerIdentities(dirty(b), dirty(b))).toEqual([]);
    expect(diffTrainerIdentities(dirty(b), dirty(c))).toEqual([
      { field: 'git.diff', recorded: b, here: c, message: "the checkout's uncommitted changes here are not the recorded ones (git diff HEAD differs)" },
    ]);
    expect(diffTrainerIdentities(dirty(), dirty(c))).toEqual([]);
  });

  it('packages are compared only when both sides report them; no git here is a difference when git was recorded', () => {
    const { packages: _dropped, ...noPackages } = command;
    const here = { ...noPackages, git: null };
    expect(diffTrainerIdentities(command, here).map((d) => d.field)).toEqual(['git.commit']);
  });

  it('another kind of trainer, or none at all here', () => {
    expect(diffTrainerIdentities(builtin, command).map((d) => d.field)).toEqual(['trainer']);
    expect(diffTrainerIdentities(builtin, null)).toEqual([
      { field: 'trainer', recorded: 'text-detector', here: null, message: 'the trainer is not available here' },
    ]);
  });
});
