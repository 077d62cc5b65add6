import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, win32 } from 'node:path';
import { z } from 'zod';
import { type ProcessControl, processExists, type StopSignal, signalQuietly } from './process-control.port';

// Written against the documented APIs, not run here (no Windows machine): taskkill, PowerShell's
// Get-CimInstance Win32_Process, and Node's process.kill on Windows (signal 0 tests that a
// process exists; SIGTERM and SIGKILL terminate it unconditionally). Its unit tests check the
// arguments, the parsing of sample output, the records it accepts and what a stop comes to
// (planWindowsTreeStop, a pure function); process-control.contract.int.test.ts runs the real
// contract on a Windows machine.
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

/**
 * PowerShell that prints `<pid> <parent pid> <creation FILETIME>` for every process. Rows without
 * a CreationDate (the System Idle Process has none) are skipped: calling ToFileTimeUtc on null
 * would fail and make the whole run exit 1.
 */
export const WINDOWS_PROCESS_TABLE_SCRIPT =
  "Get-CimInstance Win32_Process | Where-Object { $_.CreationDate } | ForEach-Object { '{0} {1} {2}' -f $_.ProcessId, $_.ParentProcessId, $_.CreationDate.ToFileTimeUtc() }";

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
 * process with a reused pid is not it); a descendant was created after its parent. Of several
 * records for one pid (a stale one of an earlier trainer with the same pid), the one that
 * matches the running process wins whatever the order: the stale one must not hide it.
 */
export const windowsTreeMembers = (records: readonly WindowsProcessRecord[], table: readonly WindowsProcessRow[], ownPid: number): number[] => {
  // pid → when the process the tree means was created, or (not running) the window its children were created in.
  const found = new Map<number, { created?: bigint; from: bigint; until?: bigint }>();
  for (const record of records) {
    const earliest = unixMsToFiletime(record.recordedAt - RECORD_SLACK_MS);
    const root = table.find((row) => row.pid === record.pid);
    const current = found.get(record.pid);
    if (current?.created !== undefined) continue; // a record matching the running process was seen already
    if (root && root.created >= earliest && root.created <= unixMsToFiletime(record.recordedAt))
      found.set(record.pid, { created: root.created, from: root.created });
    // Exited; its pid maybe reused since. Of several such records, the latest: its trainer last
    // had the pid (an earlier one's leftovers belong to another run, found by its own record).
    else found.set(record.pid, { from: current && current.from > earliest ? current.from : earliest, ...(root ? { until: root.created } : {}) });
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

/** Where the records live and where Windows is: the server passes its own (process-control.ts computes the defaults). */
export interface WindowsProcessControlOptions {
  /**
   * A directory only this user can write: a record names pids that crash recovery SIGKILLs, so
   * a record planted by someone else must not be possible (not the temp dir, which TEMP may
   * point at C:\Windows\Temp, shared by all users).
   */
  recordsDir: string;
  /** %SystemRoot%: powershell.exe and taskkill.exe are run by their absolute paths under it, never looked up in PATH. */
  systemRoot: string;
}

/** The defaults from this user's environment: records in %LOCALAPPDATA%\Trainyard\processes (per user), Windows in %SystemRoot%. */
export const windowsProcessControlDefaults = (
  env: Readonly<{ LOCALAPPDATA?: string | undefined; SystemRoot?: string | undefined }>,
  home: string,
): WindowsProcessControlOptions => ({
  recordsDir: win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), 'Trainyard', 'processes'),
  systemRoot: env.SystemRoot || 'C:\\Windows',
});

export const windowsExecutables = (systemRoot: string): { powershell: string; taskkill: string } => ({
  powershell: win32.join(systemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe'),
  taskkill: win32.join(systemRoot, 'System32', 'taskkill.exe'),
});

const recordSchema = z.strictObject({
  pid: z.number().int().positive(),
  recordedAt: z.number().int().nonnegative(),
  markers: z.record(z.string(), z.string()),
});

/** How far a record's time may lie ahead of this clock (a record from the future was not written by a server here). */
const RECORD_CLOCK_SKEW_MS = 60_000;

/**
 * A record file's content, or undefined for anything a server here did not write: content that
 * does not parse, a name that is not `<pid>-<recordedAt>.json` of its own content, a time ahead
 * of now. Whether its pid is still the recorded process is checked against the table later.
 */
export const parseWindowsProcessRecord = (fileName: string, text: string, now: number): WindowsProcessRecord | undefined => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // half-written
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const record = parsed.data;
  if (fileName !== `${record.pid}-${record.recordedAt}.json` || record.recordedAt > now + RECORD_CLOCK_SKEW_MS) return undefined;
  return record;
};

/**
 * One run of the process table. `complete` only when PowerShell succeeded and the table holds
 * this server's own process: anything less (a failed run, whose output still holds the rows
 * printed before the failure) cannot tell that a missing process has exited.
 */
export interface WindowsProcessLookup {
  rows: WindowsProcessRow[];
  complete: boolean;
}

export const windowsProcessLookup = (output: string, succeeded: boolean, ownPid: number): WindowsProcessLookup => {
  const rows = parseWindowsProcessTable(output);
  return { rows, complete: succeeded && rows.some((row) => row.pid === ownPid) };
};

/** The lookup from a failed execFileSync: its error carries what was printed before the failure (`stdout`, a string or a Buffer). */
export const windowsProcessLookupAfterFailure = (error: unknown, ownPid: number): WindowsProcessLookup => {
  const stdout = typeof error === 'object' && error !== null ? (error as { stdout?: unknown }).stdout : undefined;
  const output = typeof stdout === 'string' ? stdout : Buffer.isBuffer(stdout) ? stdout.toString('utf8') : '';
  return windowsProcessLookup(output, false, ownPid);
};

/** What stopping a tree comes to: pids to end one by one (process.kill), and taskkill's arguments if it is run too. */
export interface WindowsTreeStop {
  terminate: number[];
  taskkill?: string[];
}

/**
 * How `signalTree(pid, signal)` stops a tree. Not recorded: taskkill /T (nothing to check a reused
 * pid against). Recorded: the recorded tree's members found in the lookup, each checked by
 * creation time (a pid reused after the trainer exited is never hit: taskkill /T would end the
 * stranger's tree); and if the lookup cannot say whether the root still runs (it failed, and has
 * no row for the root's pid), taskkill /T on the root as well — better than stopping nothing.
 * A complete lookup without the root's pid means it exited: nothing to taskkill.
 */
export const planWindowsTreeStop = (
  pid: number,
  signal: StopSignal,
  records: readonly WindowsProcessRecord[],
  lookup: WindowsProcessLookup,
  ownPid: number,
): WindowsTreeStop => {
  if (records.length === 0) return { terminate: [], taskkill: windowsTaskkillArgs(pid, signal) };
  const terminate = windowsTreeMembers(records, lookup.rows, ownPid);
  const rootUnknown = !lookup.complete && !lookup.rows.some((row) => row.pid === pid);
  return rootUnknown && pid !== ownPid ? { terminate, taskkill: windowsTaskkillArgs(pid, signal) } : { terminate };
};

/**
 * Windows: records in `recordsDir` (one JSON file per started trainer) stand in for the
 * environment; a recorded tree is ended member by member (process.kill: TerminateProcess, for
 * SIGTERM too — Windows has no request to stop), any other with taskkill /T. One PowerShell run
 * per lookup.
 */
export const createWindowsProcessControl = ({ recordsDir, systemRoot }: WindowsProcessControlOptions): ProcessControl => {
  const executables = windowsExecutables(systemRoot);
  const recordFile = (record: WindowsProcessRecord): string => join(recordsDir, `${record.pid}-${record.recordedAt}.json`);
  const readRecords = (): WindowsProcessRecord[] => {
    let names: string[];
    try {
      names = readdirSync(recordsDir);
    } catch {
      return [];
    }
    const now = Date.now();
    const records: WindowsProcessRecord[] = [];
    for (const name of names) {
      try {
        const record = parseWindowsProcessRecord(name, readFileSync(join(recordsDir, name), 'utf8'), now);
        if (record) records.push(record);
      } catch {
        // Removed meanwhile.
      }
    }
    return records;
  };
  const processTable = (): WindowsProcessLookup => {
    try {
      const output = execFileSync(executables.powershell, windowsProcessTableArgs(), {
        encoding: 'utf8',
        windowsHide: true,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return windowsProcessLookup(output, true, process.pid);
    } catch (error) {
      return windowsProcessLookupAfterFailure(error, process.pid);
    }
  };
  const taskkill = (args: string[]): void => {
    try {
      execFileSync(executables.taskkill, args, { windowsHide: true, stdio: 'ignore' });
    } catch {
      // Gone already, or (without /F) it refused: the caller follows with SIGKILL.
    }
  };
  return {
    platform: 'win32',
    // detached on Windows gives the child its own console window; it outlives this server either way.
    spawnOptions: { detached: false, windowsHide: true },
    track: (pid, markers) => {
      const record: WindowsProcessRecord = { pid, recordedAt: Date.now(), markers: { ...markers } };
      try {
        // The modes are POSIX's (this user only); on Windows the directory under %LOCALAPPDATA%
        // inherits that folder's per-user ACL, which is what keeps others out.
        mkdirSync(recordsDir, { recursive: true, mode: 0o700 });
        writeFileSync(recordFile(record), JSON.stringify(record), { mode: 0o600, flag: 'wx' });
      } catch {
        // Unwritable records folder: the trainer still runs and its own tree is still ended by
        // taskkill; only what it leaves behind after it exits cannot be found.
      }
    },
    signalTree: (pid, signal) => {
      const records = readRecords().filter((record) => record.pid === pid);
      const lookup = records.length > 0 ? processTable() : { rows: [], complete: false };
      const stop = planWindowsTreeStop(pid, signal, records, lookup, process.pid);
      for (const member of stop.terminate) signalQuietly(member, signal);
      if (stop.taskkill) taskkill(stop.taskkill);
    },
    signal: (pid, signal) => void signalQuietly(pid, signal),
    findByEnvironment: (name, value) => {
      const records = readRecords().filter((record) => record.markers[name] === value);
      if (records.length === 0) return [];
      const lookup = processTable();
      const members = windowsTreeMembers(records, lookup.rows, process.pid);
      // A record whose tree has ended is removed; it names nothing any more. Only a complete
      // lookup can tell that it ended.
      if (lookup.complete) {
        for (const record of records) {
          if (windowsTreeMembers([record], lookup.rows, process.pid).length === 0) rmSync(recordFile(record), { force: true });
        }
      }
      return members;
    },
    isAlive: processExists, // no zombies on Windows: an exited process has no pid
  };
};
