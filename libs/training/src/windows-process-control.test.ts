import { describe, expect, it } from 'vitest';
import {
  parseWindowsProcessRecord,
  parseWindowsProcessTable,
  planWindowsTreeStop,
  unixMsToFiletime,
  WINDOWS_PROCESS_TABLE_SCRIPT,
  windowsExecutables,
  windowsProcessControlDefaults,
  windowsProcessLookup,
  windowsProcessLookupAfterFailure,
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

  it('skips processes without a creation time in PowerShell (the System Idle Process), so one such row cannot fail the whole run', () => {
    expect(WINDOWS_PROCESS_TABLE_SCRIPT).toMatch(/Win32_Process \| Where-Object \{ \$_\.CreationDate \} \| ForEach-Object/);
    // What a run without that filter prints for it (an empty FILETIME, then the error): skipped, the rest read.
    const output = table(['0 0 ', 'You cannot call a method on a null-valued expression.', `4 0 ${at(-7_200_000)}`, `700 600 ${at(-3_600_000)}`]);
    expect(parseWindowsProcessTable(output).map((row) => row.pid)).toEqual([4, 700]);
  });

  it('keeps the rows a failed PowerShell run printed, and counts a lookup complete only when it succeeded and holds this process', () => {
    const output = table([`700 600 ${at(-3_600_000)}`, `1000 700 ${at(-5)}`]);
    const failure = Object.assign(new Error('Command failed: powershell.exe'), { status: 1, stdout: output });
    expect(windowsProcessLookupAfterFailure(failure, 700)).toEqual({ rows: parseWindowsProcessTable(output), complete: false });
    expect(windowsProcessLookupAfterFailure(Object.assign(new Error('x'), { stdout: Buffer.from(output) }), 700).rows).toHaveLength(2);
    expect(windowsProcessLookupAfterFailure(new Error('spawn ENOENT'), 700)).toEqual({ rows: [], complete: false });
    expect(windowsProcessLookup(output, true, 700).complete).toBe(true);
    expect(windowsProcessLookup(output, true, 701).complete).toBe(false); // a table without this server is not the whole table
    expect(windowsProcessLookup('', true, 700).complete).toBe(false);
  });

  describe('stopping a tree (signalTree)', () => {
    const records = [{ pid: 1000, recordedAt, markers: { TRAINYARD_RUN_ID: 'r1' } }];
    const live = table([`700 600 ${at(-3_600_000)}`, `1000 700 ${at(-5)}`, `1010 1000 ${at(1_000)}`]);

    it('a pid without a record: taskkill /T (/F for SIGKILL)', () => {
      const none = { rows: [], complete: false };
      expect(planWindowsTreeStop(4120, 'SIGTERM', [], none, 700)).toEqual({ terminate: [], taskkill: ['/PID', '4120', '/T'] });
      expect(planWindowsTreeStop(4120, 'SIGKILL', [], none, 700)).toEqual({ terminate: [], taskkill: ['/PID', '4120', '/T', '/F'] });
    });

    it('a recorded pid: its members one by one, no taskkill', () => {
      const stop = planWindowsTreeStop(1000, 'SIGTERM', records, windowsProcessLookup(live, true, 700), 700);
      expect(stop.taskkill).toBeUndefined();
      expect(stop.terminate.sort()).toEqual([1000, 1010]);
    });

    it('a recorded pid whose lookup failed before printing anything: taskkill /T on the root, for SIGTERM and the SIGKILL after it', () => {
      const failed = windowsProcessLookupAfterFailure(Object.assign(new Error('Command failed'), { status: 1, stdout: '' }), 700);
      expect(planWindowsTreeStop(1000, 'SIGTERM', records, failed, 700)).toEqual({ terminate: [], taskkill: ['/PID', '1000', '/T'] });
      expect(planWindowsTreeStop(1000, 'SIGKILL', records, failed, 700)).toEqual({ terminate: [], taskkill: ['/PID', '1000', '/T', '/F'] });
    });

    it('a failed lookup that still printed the root: its members, no taskkill', () => {
      const partial = windowsProcessLookup(live, false, 700);
      expect(planWindowsTreeStop(1000, 'SIGKILL', records, partial, 700)).toEqual({ terminate: expect.arrayContaining([1000, 1010]) });
    });

    it('a complete lookup without the root (it exited): the children it left, and no taskkill (nothing of it left to name by pid)', () => {
      const exited = windowsProcessLookup(table([`700 600 ${at(-3_600_000)}`, `1010 1000 ${at(1_000)}`]), true, 700);
      expect(planWindowsTreeStop(1000, 'SIGKILL', records, exited, 700)).toEqual({ terminate: [1010] });
    });

    it('a complete lookup where a later process reuses the pid: neither it nor its tree, no taskkill', () => {
      const reused = windowsProcessLookup(table([`700 600 ${at(-3_600_000)}`, `1000 700 ${at(120_000)}`, `1040 1000 ${at(121_000)}`]), true, 700);
      expect(planWindowsTreeStop(1000, 'SIGKILL', records, reused, 700)).toEqual({ terminate: [] });
    });
  });

  it('two records for one pid: the one matching the running trainer wins whatever the order, and its tree is found', () => {
    const stale = { pid: 1000, recordedAt: recordedAt - 3_600_000, markers: { TRAINYARD_RUN_ID: 'old' } };
    const current = { pid: 1000, recordedAt, markers: { TRAINYARD_RUN_ID: 'r1' } };
    const rows = parseWindowsProcessTable(
      table([
        `700 600 ${at(-7_200_000)}`, // this server
        `1005 1000 ${at(-3_000_000)}`, // left by the stale record's trainer (same pid, exited since)
        `1000 700 ${at(-5)}`, // the running trainer
        `1010 1000 ${at(1_000)}`, // its child
      ]),
    );
    expect(windowsTreeMembers([stale, current], rows, 700).sort()).toEqual([1000, 1010]);
    expect(windowsTreeMembers([current, stale], rows, 700).sort()).toEqual([1000, 1010]);
    // The stale record alone still names only what its own trainer left.
    expect(windowsTreeMembers([stale], rows, 700)).toEqual([1005]);
    // Both trainers exited: the later record's window, not the earlier trainer's leftovers.
    const exited = rows.filter((row) => row.pid !== 1000);
    expect(windowsTreeMembers([stale, current], exited, 700)).toEqual([1010]);
    expect(windowsTreeMembers([current, stale], exited, 700)).toEqual([1010]);
  });

  it('reads only records a server here wrote: valid content, named after its own pid and time, not from the future', () => {
    const record = { pid: 1000, recordedAt, markers: { TRAINYARD_RUN_ID: 'r1' } };
    const name = `1000-${recordedAt}.json`;
    expect(parseWindowsProcessRecord(name, JSON.stringify(record), recordedAt + 1_000)).toEqual(record);
    expect(parseWindowsProcessRecord(name, '{"pid":1000,"recor', recordedAt)).toBeUndefined(); // half-written
    expect(parseWindowsProcessRecord('4-1.json', JSON.stringify(record), recordedAt)).toBeUndefined(); // copied under another name
    expect(parseWindowsProcessRecord(name, JSON.stringify({ ...record, pid: -1 }), recordedAt)).toBeUndefined();
    expect(parseWindowsProcessRecord(name, JSON.stringify({ ...record, markers: { A: 1 } }), recordedAt)).toBeUndefined();
    expect(parseWindowsProcessRecord(name, JSON.stringify({ ...record, extra: true }), recordedAt)).toBeUndefined();
    expect(parseWindowsProcessRecord(name, JSON.stringify(record), recordedAt - 3_600_000)).toBeUndefined(); // from the future
  });

  it("keeps records in this user's local app data and runs PowerShell and taskkill by absolute path under SystemRoot", () => {
    expect(windowsProcessControlDefaults({ LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local', SystemRoot: 'D:\\WINDOWS' }, 'C:\\Users\\ada')).toEqual({
      recordsDir: 'C:\\Users\\ada\\AppData\\Local\\Trainyard\\processes',
      systemRoot: 'D:\\WINDOWS',
    });
    expect(windowsProcessControlDefaults({}, 'C:\\Users\\ada')).toEqual({
      recordsDir: 'C:\\Users\\ada\\AppData\\Local\\Trainyard\\processes',
      systemRoot: 'C:\\Windows',
    });
    expect(windowsExecutables('C:\\Windows')).toEqual({
      powershell: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
      taskkill: 'C:\\Windows\\System32\\taskkill.exe',
    });
  });
});
