import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { FAILURE_LOG_TAIL, type LogSlice } from '@trainyard/contracts';
import { DomainError } from '@trainyard/core';

/** The logs a job directory keeps (PROTOCOL.md): the trainer's stdout and stderr, and Trainyard's events log. */
export type LogStream = 'stdout' | 'stderr' | 'events';

/** Part of a log: always bounded, always whole UTF-8 characters (the API's logSliceOutput). */
export type { LogSlice };

/** How many bytes from the start of `buffer` are whole UTF-8 characters (a character cut at the end is left out). */
export const wholeUtf8Length = (buffer: Uint8Array): number => {
  for (let back = 1; back <= Math.min(4, buffer.length); back += 1) {
    const byte = buffer[buffer.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead byte
    const width = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return width > back ? buffer.length - back : buffer.length;
  }
  return buffer.length; // not UTF-8: the decoder replaces what it cannot read
};

/** Continuation bytes at the start of `buffer` (the end of a character that began before it). */
const leadingContinuation = (buffer: Uint8Array): number => {
  let skip = 0;
  while (skip < Math.min(3, buffer.length) && ((buffer[skip] ?? 0) & 0xc0) === 0x80) skip += 1;
  return skip;
};

/**
 * Opens `<jobDir>/logs/<stream>.log` for reading, or undefined when it does not exist (yet).
 * The path is made only from the server's own job directory and a fixed name; the job directory,
 * `logs/` and the file itself must not be symlinks (a trainer writes in its job directory and
 * could otherwise point a log at any file the server can read), and the file must be a regular
 * file (never blocks on a FIFO).
 */
const openLog = async (jobDir: string, stream: LogStream): Promise<{ handle: FileHandle; stats: Stats } | undefined> => {
  const logs = join(jobDir, 'logs');
  for (const dir of [jobDir, logs]) {
    const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!info) return undefined;
    if (!info.isDirectory())
      throw new DomainError('FAILED_PRECONDITION', `The job's ${stream} log cannot be read: its directory is not a plain directory`, { stream });
  }
  let handle: FileHandle;
  try {
    handle = await open(join(logs, `${stream}.log`), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new DomainError('FAILED_PRECONDITION', `The job's ${stream} log is a symlink; not read`, { stream });
    throw error;
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    throw new DomainError('FAILED_PRECONDITION', `The job's ${stream} log is not a regular file; not read`, { stream });
  }
  return { handle, stats };
};

const readAt = async (handle: FileHandle, position: number, length: number): Promise<Buffer> => {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
};

/**
 * A bounded part of one of a job's logs, never the whole file unless it is small:
 * - `offset`: up to `length` bytes from there (follow a log by passing back `nextOffset`);
 * - otherwise its last `tail` lines (default 100), read from the last `length` bytes only
 *   (a line cut by that window is left out).
 */
export const readJobLog = async (jobDir: string, stream: LogStream, options: { tail?: number; offset?: number; length: number }): Promise<LogSlice> => {
  const opened = await openLog(jobDir, stream);
  if (!opened) return { text: '', size: 0, offset: 0, nextOffset: 0 };
  const { handle, stats } = opened;
  const size = stats.size;
  try {
    if (options.offset !== undefined) {
      const start = options.offset;
      if (start >= size) return { text: '', size, offset: start, nextOffset: start };
      const buffer = await readAt(handle, start, Math.min(options.length, size - start));
      const whole = wholeUtf8Length(buffer);
      // A read that is nothing but a cut character: at the end of the log, wait for the rest; else (a tiny `length`) hand it over.
      const end = whole > 0 || start + buffer.length >= size ? whole : buffer.length;
      return { text: buffer.subarray(0, end).toString('utf8'), size, offset: start, nextOffset: start + end };
    }
    const windowStart = Math.max(0, size - options.length);
    const buffer = await readAt(handle, windowStart, size - windowStart);
    let skip = 0;
    if (windowStart > 0) {
      const newline = buffer.indexOf(0x0a);
      skip = newline !== -1 && newline < buffer.length - 1 ? newline + 1 : leadingContinuation(buffer);
    }
    const end = Math.max(skip, wholeUtf8Length(buffer));
    const body = buffer.subarray(skip, end);
    // Keep the last `tail` lines (0x0a never occurs inside a multi-byte UTF-8 character).
    const tail = options.tail ?? 100;
    let cut = 0;
    let lines = 0;
    for (let i = body.length - (body.at(-1) === 0x0a ? 2 : 1); i >= 0; i -= 1) {
      if (body[i] === 0x0a && (lines += 1) === tail) {
        cut = i + 1;
        break;
      }
    }
    return { text: body.subarray(cut).toString('utf8'), size, offset: windowStart + skip + cut, nextOffset: windowStart + end };
  } finally {
    await handle.close();
  }
};

/** The size of a job's log now (0 when there is none yet). */
export const jobLogSize = async (jobDir: string, stream: LogStream): Promise<number> => {
  const opened = await openLog(jobDir, stream).catch(() => undefined);
  if (!opened) return 0;
  await opened.handle.close();
  return opened.stats.size;
};

const STACK_FRAME = /^\s+(at\s|File\s"|\.\.\.)|^\s*\^+\s*$|^Node\.js v\d/;
const ERROR_LINE = /^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]*(?:Error|Exception|Interrupt|Exit)\b.*|^(?:thread '.*' panicked|panic:|fatal:|error:)/i;

/**
 * The line of a trainer's stderr that most likely says why it failed, written since `from` (this
 * attempt): the last error-looking line (`ValueError: …`, `Error: …`, `panic: …`), else the last
 * line that is not a stack frame. Read from the last 8 KiB only; cut to 300 characters.
 */
export const failureLine = async (jobDir: string, from: number): Promise<string | undefined> => {
  const size = await jobLogSize(jobDir, 'stderr');
  if (size <= from) return undefined;
  const slice = await readJobLog(jobDir, 'stderr', { offset: Math.max(from, size - FAILURE_LOG_TAIL.bytes), length: FAILURE_LOG_TAIL.bytes });
  const lines = slice.text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '');
  const chosen = lines.findLast((line) => ERROR_LINE.test(line.trim())) ?? lines.findLast((line) => !STACK_FRAME.test(line));
  const line = chosen?.trim().replace(/\p{Cc}/gu, ' ');
  return line ? (line.length > 300 ? `${line.slice(0, 299)}…` : line) : undefined;
};
