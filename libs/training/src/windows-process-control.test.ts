import { describe, expect, it } from 'vitest';
import {
  parseWindowsProcessTable,
  unixMsToFiletime,
  WINDOWS_PROCESS_TABLE_SCRIPT,
  windowsProcessTableArgs,
  windowsTaskkillArgs,
  windowsTreeMembers,
} from './windows-process-control';

// Windows's process handling is written against the documented taskkill and Win32_Process and
// not run here (no Windows machine); these check its arguments, its parsing of output in the
// format its PowerShell prints, and how it follows a recorded tree through the table.
const recordedAt = Date.UTC(2026, 10, 29, 23, 0, 0);
const at = (offsetMs: number): string => String(unixMsToFiletime(recordedAt + offsetMs));
const table = (lines: string[]): string => `${lines.join('\r\n')}\r\n`;

describe('Windows process handling (taskkill, Win32_Process)', () => {
  it('ends a tree with taskkill /T, forced (/F) for SIGKILL only', () => {
    expect(windowsTaskkillArgs(4120, 'SIGKILL')).toEqual(['/PID', '4120', '/T', '/F']);
    expect(windowsTaskkillArgs(4120, 'SIGTERM')).toEqual(['/PID', '4120', '/T']);
  });

  it('reads the process table with PowerShell: pid, parent pid, creation FILETIME', () => {
    expect(windowsProcessTableArgs()).toEqual(['-NoProfile', '-NonInteractive', '-Command', WINDOWS_PROCESS_TABLE_SCRIPT]);
    expect(WINDOWS_PROCESS_TABLE_SCRIPT).toContain('Get-CimInstance Win32_Process');
    expect(parseWindowsProcessTable('4 0 134090496000000000\r\nGet-CimInstance : access denied\r\n 5120 4 134090496001234567 \r\n\r\n')).toEqual([
      { pid: 4, parentPid: 0, created: 134090496000000000n },
      { pid: 5120, parentPid: 4, created: 134090496001234567n },
    ]);
  });

  it('converts Unix milliseconds to FILETIME (100 ns since 1601)', () => {
    expect(unixMsToFiletime(0)).toBe(116444736000000000n);
    expect(unixMsToFiletime(1)).toBe(116444736000010000n);
  });

  it("follows a recorded trainer's tree: its children and theirs, created after their parents, not this process or strangers", () => {
    const rows = parseWindowsProcessTable(
      table([
        `700 600 ${at(-3_600_000)}`, // this server
        `1000 700 ${at(-5)}`, // the trainer, created just before its record
        `1010 1000 ${at(1_000)}`, // its child
        `1020 1010 ${at(2_000)}`, // a grandchild
        `1030 1000 ${at(3_000)}`, // a detached child: still a child on Windows
        `2000 700 ${at(500)}`, // another process of this server
      ]),
    );
    const records = [{ pid: 1000, recordedAt, markers: { TRAINYARD_RUN_ID: 'r1' } }];
    expect(windowsTreeMembers(records, rows, 700).sort()).toEqual([1000, 1010, 1020, 1030]);
  });

  it('after the trainer exited, finds the children it left; a later process with its pid is not it, nor are its children', () => {
    const rows = parseWindowsProcessTable(
      table([
        `1010 1000 ${at(1_000)}`, // left by the trainer (its parent id stays that of the exited trainer)
        `1000 700 ${at(60_000)}`, // the trainer's pid, reused by a process started later
        `1040 1000 ${at(61_000)}`, // that process's child
      ]),
    );
    const records = [{ pid: 1000, recordedAt, markers: {} }];
    expect(windowsTreeMembers(records, rows, 700)).toEqual([1010]);
  });

  it('a child older than its supposed parent is not its child (the parent pid was reused)', () => {
    const rows = parseWindowsProcessTable(table([`1000 700 ${at(-5)}`, `1010 1000 ${at(-10_000)}`]));
    expect(windowsTreeMembers([{ pid: 1000, recordedAt, markers: {} }], rows, 700)).toEqual([1000]);
  });
});
