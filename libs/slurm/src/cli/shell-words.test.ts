import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine, shellWord } from './shell-words';

// What a real POSIX shell makes of a quoted word: printf prints each argument on its own line.
const throughShell = (shell: string, args: readonly string[]): string[] => {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${args.map(shellWord).join(' ')}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
};

const NASTY = [
  "it's",
  'a b',
  '',
  '$HOME',
  '`id`',
  '$(id)',
  '"q"',
  'back\\slash',
  'semi;colon',
  'pipe|x',
  'new\nline',
  '*',
  '~',
  '!bang',
  "''",
  'a=b',
  '-n',
  'tab\tx',
  'ünï',
];

describe('shellWord', () => {
  it('leaves plain words bare and single-quotes the rest', () => {
    expect(shellWord('sbatch')).toBe('sbatch');
    expect(shellWord('--signal=USR2')).toBe("'--signal=USR2'");
    expect(shellWord('/tmp/a-b_c.sh')).toBe('/tmp/a-b_c.sh');
    expect(shellWord("it's")).toBe("'it'\\''s'");
    expect(shellWord('')).toBe("''");
  });

  it.each(['sh', 'bash'])('round-trips every awkward argument through %s unchanged', (shell) => {
    expect(throughShell(shell, NASTY)).toEqual(NASTY);
  });

  it('refuses a NUL byte', () => {
    expect(() => shellWord('a\0b')).toThrow(/NUL/);
  });
});

describe('remoteCommandLine', () => {
  it('runs in cwd with env set, through a real shell', () => {
    const line = remoteCommandLine(['sh', '-c', 'printf "%s|%s" "$PWD" "$SLURM_CONF"'], { cwd: '/tmp', env: { SLURM_CONF: "/x y/it's.conf" } });
    expect(line).toBe(`cd /tmp && env 'SLURM_CONF=/x y/it'\\''s.conf' sh -c 'printf "%s|%s" "$PWD" "$SLURM_CONF"'`);
    expect(execFileSync('sh', ['-c', line], { encoding: 'utf8' })).toBe("/tmp|/x y/it's.conf");
  });

  it('refuses an environment name a shell would not read as one', () => {
    expect(() => remoteCommandLine(['true'], { env: { 'A;rm': 'x' } })).toThrow(/environment variable name/);
    expect(() => remoteCommandLine([])).toThrow(/no command/);
  });
});
