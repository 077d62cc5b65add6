import { open, readFile, writeFile } from 'node:fs/promises';
import { MAX_EVENT_LINE_BYTES } from '@trainyard/training';

const CHUNK = 256 * 1024;

export interface EventLineSink {
  line(line: string): void;
  oversized(): void;
}

/**
 * Follows a trainer's events file on the shared filesystem: each `read()` delivers the lines
 * appended since the last one (a partial last line waits for its newline). How far it got is
 * saved beside it, so a server that re-attaches after a restart goes on from there instead of
 * recording the points again (at most the last second's are delivered twice). Polled, not
 * watched: change notifications do not cross NFS and similar filesystems.
 */
export const followEventsFile = (path: string, offsetPath: string, sink: EventLineSink) => {
  let offset: number | undefined;
  let pending = '';
  let skipping = false;
  let savedOffset = -1;
  let lastSave = 0;
  let reading: Promise<void> = Promise.resolve();

  const loadOffset = async (): Promise<number> => {
    const saved = Number((await readFile(offsetPath, 'utf8').catch(() => '0')).trim());
    return Number.isSafeInteger(saved) && saved >= 0 ? saved : 0;
  };

  const saveOffset = async (force: boolean): Promise<void> => {
    // The offset of the first byte not yet delivered: a pending partial line is read again.
    const complete = (offset ?? 0) - Buffer.byteLength(pending);
    if (complete === savedOffset || (!force && Date.now() - lastSave < 1_000)) return;
    lastSave = Date.now();
    savedOffset = complete;
    await writeFile(offsetPath, String(complete)).catch(() => undefined);
  };

  const readNew = async (): Promise<void> => {
    offset ??= await loadOffset();
    const file = await open(path, 'r').catch(() => undefined);
    if (!file) return; // the trainer has not started yet
    try {
      const buffer = Buffer.alloc(CHUNK);
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, CHUNK, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const text = pending + buffer.toString('utf8', 0, bytesRead);
        const lines = text.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (skipping) skipping = false;
          else if (line.length > MAX_EVENT_LINE_BYTES) sink.oversized();
          else if (line.trim() !== '') sink.line(line);
        }
        if (pending.length > MAX_EVENT_LINE_BYTES) {
          pending = '';
          skipping = true;
          sink.oversized();
        }
      }
    } finally {
      await file.close();
    }
  };

  return {
    /** Delivers what was appended since the last call (calls never overlap). */
    read(): Promise<void> {
      reading = reading.then(readNew).then(() => saveOffset(false));
      return reading;
    },
    /** The last read, after the trainer ended: a last line without a newline counts too. */
    async drain(): Promise<void> {
      await this.read();
      if (!skipping && pending.trim() !== '') sink.line(pending);
      pending = '';
      await saveOffset(true);
    },
    /** Saves how far it got (a detach: the next holder goes on from here). */
    save: (): Promise<void> => reading.then(() => saveOffset(true)),
  };
};
