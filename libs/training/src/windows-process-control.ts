import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProcessControl, processExists, type StopSignal, signalQuietly } from './process-control.port';

// Written against the documented APIs, not run here (no Windows machine): taskkill, PowerShell's
// Get-CimInstance Win32_Process, and Node's process.kill on Windows (signal 0 tests that a
// process exists; SIGTERM and SIGKILL terminate it unconditionally). Its unit tests check the
// arguments and the parsing of sample output; process-control.contract.int.test.ts runs the
// real contract on a Windows machine.
//
// Windows has no process groups, no signals and no way to read another process's environment
// without native code. So a trainer is found through a record written when it is started (its
// pid, when it was recorded, the variables that name it) and the process table's parent links:
// the recorded process, if the process with its pid was created before the record, and every
// process created after its parent whose parent is in the tree. Known gap: a descendant whose
// parent exited is still found (its ParentProcessId keeps the dead parent's id) only while that
// parent was itself found earlier in the same lookup; a Job Object (native code) would hold
// them all and is the way to close it.

/** One row of the process table: its id, its parent's id, its creation time (FILETIME, UTC). */
export interface WindowsProcessRow {
  pid: number;
  parentPid: number;
  created: bigint;
}

/** A trainer recorded at its start: its pid, when (Unix ms), and the variables that name it. */
export interface WindowsProcessRecord {
  pid: number;
  recordedAt: number;
  markers: Record<string, string>;
}

/** PowerShell that prints `<pid> <parent pid> <creation FILETIME>` for every process. */
export const WINDOWS_PROCESS_TABLE_SCRIPT =
  "Get-CimInstance Win32_Process | ForEach-Object { '{0} {1} {2}' -f $_.ProcessId, $_.ParentProcessId, $_.CreationDate.ToFileTimeUtc() }";

export const windowsProcessTableArgs = (): string[] => ['-NoProfile', '-NonInteractive', '-Command', WINDOWS_PROCESS_TABLE_SCRIPT];

/** taskkill /T ends the process and its descendants; /F forces it (without /F, console programs usually refuse). */
export const windowsTaskkillArgs = (pid: number, signal: StopSignal): string[] => ['/PID', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])];

export const parseWindowsProcessTable = (output: string): WindowsProcessRow[] => {
  const rows: WindowsProcessRow[] = [];
  for (const line of output.split(/\r?\n/)) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (match) rows.push({ pid: Number(match[1]), parentPid: Number(match[2]), created: BigInt(match[3] ?? '0') });
  }
  return rows;
};

const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n; // 100 ns intervals from 1601-01-01 to 1970-01-01
export const unixMsToFiletime = (ms: number): bigint => BigInt(Math.round(ms)) * 10_000n + FILETIME_UNIX_EPOCH;

/** How far a process may have been created before its record and still be the one recorded (spawn → record). */
const RECORD_SLACK_MS = 60_000;

/**
 * The processes of the recorded trees still running, by the table's parent links: a record's
 * process is the one with its pid created at most RECORD_SLACK_MS before the record (a later
 * process with a reused pid is not it); a descendant was created after its parent.
 */
export const windowsTreeMembers = (records: readonly WindowsProcessRecord[], table: readonly WindowsProcessRow[], ownPid: number): number[] => {
  // pid → when the process the tree means was created, or (not running) the window its children were created in.
  const found = new Map<number, { created?: bigint; from: bigint; until?: bigint }>();
  for (const record of records) {
    const earliest = unixMsToFiletime(record.recordedAt - RECORD_SLACK_MS);
    const root = table.find((row) => row.pid === record.pid);
    if (root && root.created >= earliest && root.created <= unixMsToFiletime(record.recordedAt))
      found.set(record.pid, { created: root.created, from: root.created });
    else found.set(record.pid, { from: earliest, ...(root ? { until: root.created } : {}) }); // exited; its pid maybe reused since
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const row of table) {
      if (found.has(row.pid)) continue;
      const parent = found.get(row.parentPid);
      if (parent && row.created >= parent.from && (parent.until === undefined || row.created < parent.until)) {
        found.set(row.pid, { created: row.created, from: row.created });
        grew = true;
      }
    }
  }
  return [...found].filter(([pid, entry]) => pid !== ownPid && entry.created !== undefined).map(([pid]) => pid);
};

/**
 * Windows: records in `stateDir` (one JSON file per started trainer) stand in for the
 * environment; a recorded tree is ended member by member (process.kill: TerminateProcess, for
 * SIGTERM too — Windows has no request to stop), any other with taskkill /T. One PowerShell run
 * per lookup. `stateDir` defaults to a folder in the temp dir.
 */
export const createWindowsProcessControl = (stateDir = join(tmpdir(), 'trainyard-processes')): ProcessControl => {
  const recordFile = (record: WindowsProcessRecord): string => join(stateDir, `${record.pid}-${record.recordedAt}.json`);
  const readRecords = (): WindowsProcessRecord[] => {
    let names: string[];
    try {
      names = readdirSync(stateDir);
    } catch {
      return [];
    }
    const records: WindowsProcessRecord[] = [];
    for (const name of names) {
      try {
        records.push(JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as WindowsProcessRecord);
      } catch {
        // Half-written or removed meanwhile.
      }
    }
    return records;
  };
  const processTable = (): WindowsProcessRow[] => {
    try {
      return parseWindowsProcessTable(
        execFileSync('powershell.exe', windowsProcessTableArgs(), { encoding: 'utf8', windowsHide: true, stdio: ['ignore', 'pipe', 'ignore'] }),
      );
    } catch {
      return [];
    }
  };
  return {
    platform: 'win32',
    // detached on Windows gives the child its own console window; it outlives this server either way.
    spawnOptions: { detached: false, windowsHide: true },
    track: (pid, markers) => {
      const record: WindowsProcessRecord = { pid, recordedAt: Date.now(), markers: { ...markers } };
      try {
        mkdirSync(stateDir, { recursive: true });
        writeFileSync(recordFile(record), JSON.stringify(record));
      } catch {
        // Unwritable temp folder: the trainer still runs and its own tree is still ended by
        // taskkill; only what it leaves behind after it exits cannot be found.
      }
    },
    signalTree: (pid, signal) => {
      // A tracked root: its recorded tree, each member checked by creation time, so a pid
      // reused after the trainer exited is never hit (taskkill /T would end the stranger's tree).
      const records = readRecords().filter((record) => record.pid === pid);
      if (records.length > 0) {
        for (const member of windowsTreeMembers(records, processTable(), process.pid)) signalQuietly(member, signal);
        return;
      }
      try {
        execFileSync('taskkill', windowsTaskkillArgs(pid, signal), { windowsHide: true, stdio: 'ignore' });
      } catch {
        // Gone already, or (without /F) it refused: the caller follows with SIGKILL.
      }
    },
    signal: (pid, signal) => void signalQuietly(pid, signal),
    findByEnvironment: (name, value) => {
      const records = readRecords().filter((record) => record.markers[name] === value);
      if (records.length === 0) return [];
      const table = processTable();
      const members = windowsTreeMembers(records, table, process.pid);
      // A record whose tree has ended is removed; it names nothing any more.
      for (const record of records) {
        if (windowsTreeMembers([record], table, process.pid).length === 0 && table.length > 0) rmSync(recordFile(record), { force: true });
      }
      return members;
    },
    isAlive: processExists, // no zombies on Windows: an exited process has no pid
  };
};
