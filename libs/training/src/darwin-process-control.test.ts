import { describe, expect, it } from 'vitest';
import { darwinPsEnvironmentArgs, darwinStatIsZombie, parseDarwinPsEnvironment } from './darwin-process-control';

// macOS's process handling is written against ps(1)'s documented output and not run here (no
// macOS machine); these check its arguments and its parsing of output in that format.
const jobDir = '/Users/ada/Library/Application Support/Trainyard/jobs/5b0c7d2e';
const sample = [
  '    1 /sbin/launchd',
  '  412 /usr/libexec/trustd --agent',
  `  980 /usr/local/bin/node ${jobDir}/../../trainers/train.mjs --epochs 3 TERM_PROGRAM=Apple_Terminal SHELL=/bin/zsh TRAINYARD_JOB_DIR=${jobDir} TRAINYARD_RUN_ID=0f6c2a4e-1f1b-4c55-9d1e-1f1f6a1b2c3d PATH=/usr/bin:/bin`,
  `  981 /usr/local/bin/python3 worker.py TRAINYARD_JOB_DIR=${jobDir} TRAINYARD_RUN_ID=0f6c2a4e-1f1b-4c55-9d1e-1f1f6a1b2c3d`,
  `  982 /usr/local/bin/node other.mjs TRAINYARD_JOB_DIR=${jobDir}1 TRAINYARD_RUN_ID=9a9a9a9a-1f1b-4c55-9d1e-1f1f6a1b2c3d`,
  `  700 /usr/local/bin/node server.mjs TRAINYARD_JOB_DIR=${jobDir}`,
  '',
].join('\n');

describe('macOS process handling (ps -E)', () => {
  it("lists this user's processes with their environments, lines never cut", () => {
    expect(darwinPsEnvironmentArgs(501)).toEqual(['-E', '-ww', '-U', '501', '-o', 'pid=,command=']);
  });

  it('finds the processes whose environment holds the variable with exactly that value, spaces in it too', () => {
    expect(parseDarwinPsEnvironment(sample, 'TRAINYARD_JOB_DIR', jobDir, 700)).toEqual([980, 981]);
    expect(parseDarwinPsEnvironment(sample, 'TRAINYARD_RUN_ID', '0f6c2a4e-1f1b-4c55-9d1e-1f1f6a1b2c3d', 700)).toEqual([980, 981]);
  });

  it('leaves out this process, pid 1, another value that starts the same, and a name that only ends the same', () => {
    expect(parseDarwinPsEnvironment(sample, 'TRAINYARD_JOB_DIR', jobDir, 1)).toEqual([980, 981, 700]);
    expect(parseDarwinPsEnvironment(sample, 'TRAINYARD_JOB_DIR', `${jobDir}1`, 700)).toEqual([982]);
    expect(parseDarwinPsEnvironment(sample, 'JOB_DIR', jobDir, 700)).toEqual([]);
    expect(parseDarwinPsEnvironment(sample, 'TRAINYARD_RUN_ID', '0f6c2a4e', 700)).toEqual([]);
  });

  it('reads a zombie from ps -o stat=', () => {
    expect(darwinStatIsZombie('Z    \n')).toBe(true);
    expect(darwinStatIsZombie('S+\n')).toBe(false);
    expect(darwinStatIsZombie('Ss\n')).toBe(false);
  });
});
