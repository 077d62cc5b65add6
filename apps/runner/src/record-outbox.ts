import { appendFileSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { MAX_RECORDS_BATCH_BYTES, MAX_RECORDS_PER_BATCH, type RunnerRecord } from '@trainyard/training/runner-kit';

/** A record before it is numbered. */
export type RecordBody = RunnerRecord extends infer R ? (R extends RunnerRecord ? Omit<R, 'seq'> : never) : never;

/** Bytes read from the buffer file for one batch (a record longer than this is sent alone). */
const BATCH_READ_BYTES = 1024 * 1024;
/** Records are written to the file at most this long after they happen (one write for many). */
const WRITE_DELAY_MS = 50;

/**
 * The runner's records, numbered in the order they happened and written to a file on disk
 * first: the file is the queue. Batches are read from the first record the server has not
 * acknowledged, so a server that cannot be reached for a while costs disk, not memory, and
 * nothing is lost or sent twice: the server applies each sequence number once.
 */
export const createRecordOutbox = (file: string) => {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, '');
  let lastSeq = 0;
  let acked = 0;
  /** Byte offset in the file of the first record not yet acknowledged. */
  let cursor = 0;
  let unwritten: string[] = [];
  let writeTimer: NodeJS.Timeout | undefined;
  const write = (): void => {
    clearTimeout(writeTimer);
    writeTimer = undefined;
    if (unwritten.length === 0) return;
    appendFileSync(file, unwritten.join(''));
    unwritten = [];
  };
  return {
    add(record: RecordBody): number {
      lastSeq += 1;
      unwritten.push(`${JSON.stringify({ ...record, seq: lastSeq })}\n`);
      writeTimer ??= setTimeout(write, WRITE_DELAY_MS);
      return lastSeq;
    },
    lastSeq: (): number => lastSeq,
    acked: (): number => acked,
    /** The next records to send, from the first unacknowledged one, and the offset just past them. */
    nextBatch(): { records: RunnerRecord[]; end: number } {
      write();
      const fd = openSync(file, 'r');
      try {
        let size = BATCH_READ_BYTES;
        for (;;) {
          const buffer = Buffer.alloc(size);
          const read = readSync(fd, buffer, 0, size, cursor);
          const text = buffer.toString('utf8', 0, read);
          const complete = text.lastIndexOf('\n');
          if (complete === -1) {
            if (read < size) return { records: [], end: cursor };
            size = Math.min(size * 2, MAX_RECORDS_BATCH_BYTES);
            continue;
          }
          const lines = text.slice(0, complete).split('\n').slice(0, MAX_RECORDS_PER_BATCH);
          const records = lines.map((line) => JSON.parse(line) as RunnerRecord);
          const end = cursor + lines.reduce((bytes, line) => bytes + Buffer.byteLength(line) + 1, 0);
          return { records, end };
        }
      } finally {
        closeSync(fd);
      }
    },
    /** The server applied every record up to `seq`, which a batch ending at byte `end` held. */
    ack(seq: number, end: number): void {
      acked = Math.max(acked, seq);
      cursor = end;
    },
    flush: write,
  };
};

export type RecordOutbox = ReturnType<typeof createRecordOutbox>;
