import { darwinProcessControl } from './darwin-process-control';
import { linuxProcessControl } from './linux-process-control';
import { processControlFor } from './process-control';
import { createWindowsProcessControl, windowsProcessControlDefaults } from './windows-process-control';
import { describeProcessControlContract } from './test-fixtures/process-control-contract';
import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Each implementation runs the same contract on its own platform; here (Linux) only Linux's
// runs. The macOS and Windows ones are written against their documented APIs and not run here
// (no macOS/Windows machine): on those machines this file runs them.
describeProcessControlContract('linux (process groups, /proc)', () => linuxProcessControl, process.platform === 'linux');
describeProcessControlContract('darwin (process groups, ps -E) — runs on macOS only', () => darwinProcessControl, process.platform === 'darwin');
describeProcessControlContract(
  'windows (taskkill /T, Win32_Process, start records) — runs on Windows only',
  () =>
    createWindowsProcessControl({
      ...windowsProcessControlDefaults(process.env, homedir()),
      recordsDir: mkdtempSync(join(tmpdir(), 'trainyard-processes-')),
    }),
  process.platform === 'win32',
);

describe('processControlFor', () => {
  it('picks the implementation of each platform, and Linux for other POSIX systems', () => {
    expect(processControlFor('linux')).toBe(linuxProcessControl);
    expect(processControlFor('darwin')).toBe(darwinProcessControl);
    expect(processControlFor('win32').platform).toBe('win32');
    expect(processControlFor('freebsd')).toBe(linuxProcessControl);
  });
});
