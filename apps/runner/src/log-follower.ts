import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { MAX_LOG_LINE_CHARS } from '@trainyard/training/runner-kit';

const CHUNK = 256 * 1024;

/**
 * Follows the trainer's `logs/stdout.log` and `logs/stderr.log` in the runner's job directory
 * (the local executor writes them there) and hands each new line on, cut to MAX_LOG_LINE_CHARS.
 * The files stay where they are: the logs are in the job directory and on the server.
 */
export const followTrainerLogs = (jobDir: string, onLine: (stream: 'stdout' | 'stderr', line: string) => void, intervalMs = 250) => {
  // A decoder per file: a character split across two reads is decoded whole.
  const state = {
    stdout: { offset: 0, pending: '', decoder: new StringDecoder('utf8') },
    stderr: { offset: 0, pending: '', decoder: new StringDecoder('utf8') },
  };
  const cut = (line: string): string => (line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS)} … (line cut)` : line);
  const readStream = (stream: 'stdout' | 'stderr', final: boolean): void => {
    const s = state[stream];
    let fd: number;
    try {
      fd = openSync(join(jobDir, 'logs', `${stream}.log`), 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(CHUNK);
      for (;;) {
        const read = readSync(fd, buffer, 0, CHUNK, s.offset);
        if (read === 0) break;
        s.offset += read;
        const lines = (s.pending + s.decoder.write(buffer.subarray(0, read))).split('\n');
        s.pending = lines.pop() ?? '';
        for (const line of lines) onLine(stream, cut(line));
        if (s.pending.length > MAX_LOG_LINE_CHARS) {
          onLine(stream, cut(s.pending));
          s.pending = '';
        }
      }
      if (final && s.pending !== '') {
        onLine(stream, cut(s.pending));
        s.pending = '';
      }
    } finally {
      closeSync(fd);
    }
  };
  const poll = (final = false): void => {
    readStream('stdout', final);
    readStream('stderr', final);
  };
  const timer = setInterval(() => poll(), intervalMs);
  return {
    /** After the trainer exited: the rest, a last line without a newline included. */
    drain(): void {
      clearInterval(timer);
      poll(true);
    },
  };
};
