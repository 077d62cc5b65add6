import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Log } from '@kubernetes/client-node';

/** An RFC3339(Nano) timestamp as a key that sorts in time order (Kubernetes drops trailing zeros of the fraction). */
const timeKey = (timestamp: string): string => {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp);
  return match ? `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}` : timestamp;
};

export interface PodLogFollowOptions {
  log: Log;
  namespace: string;
  pod: string;
  container: string;
  /** Appended to: the job's `logs/runner.log` on the server. */
  file: string;
  /** Where how far the log was written is kept, so a follower started after a server restart goes on from there. */
  positionFile: string;
  /** Whether the container has ended (its log is then complete once read to its end). */
  ended(): boolean;
  onError?(error: unknown): void;
}

/**
 * Follows a container's log into a file, with timestamps: a follow that closes while the
 * container still runs (API servers and proxies end long requests) is opened again from the last
 * line's second (`sinceTime`), and the lines already written — earlier, or at the same instant
 * and already counted — are skipped, so none is written twice. Ends once a follow opened after
 * the container ended has been read to its end (or the pod is gone).
 */
export const followPodLog = (options: PodLogFollowOptions): { stop(): void; done: Promise<void> } => {
  let stopped = false;
  let controller: AbortController | undefined;
  const out = createWriteStream(options.file, { flags: 'a' });
  // The job's directory may go while a pod is followed (the job deleted): an error here is reported, never thrown from a callback.
  out.on('error', (error) => options.onError?.(error));
  const saved = ((): { stamp?: unknown; count?: unknown } => {
    try {
      return JSON.parse(readFileSync(options.positionFile, 'utf8')) as { stamp?: unknown; count?: unknown };
    } catch {
      return {};
    }
  })();
  let lastStamp = typeof saved.stamp === 'string' ? saved.stamp : '';
  let lastKey = lastStamp ? timeKey(lastStamp) : '';
  let atLastKey = typeof saved.count === 'number' ? saved.count : 0;
  let saveTimer: NodeJS.Timeout | undefined;
  /** The position of the last line known to be in the file (written after its write completed: a crash repeats lines, never loses them). */
  let flushed = { stamp: lastStamp, count: atLastKey };
  /** Lines handed to the file not yet written; once stopped, the position is saved when they are. */
  let pendingWrites = 0;
  let saveWhenWritten = false;
  const savePosition = (): void => {
    clearTimeout(saveTimer);
    saveTimer = undefined;
    if (!flushed.stamp) return;
    try {
      writeFileSync(options.positionFile, JSON.stringify(flushed));
    } catch (error) {
      // Runs from a timer: a throw here would end the server. A position not saved repeats lines after a restart, loses none.
      options.onError?.(error);
    }
  };

  const round = async (): Promise<'ended' | 'again'> => {
    const endedBefore = options.ended();
    const stream = new PassThrough();
    let replayedAtKey = 0;
    const countAtStart = atLastKey;
    const keyAtStart = lastKey;
    let lastData = Date.now();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      // Stopped: a follower started after this one (a restarted server) goes on from the saved position; a line written here too would be there twice.
      if (stopped) return;
      lastData = Date.now();
      const space = line.indexOf(' ');
      const stamp = space > 0 ? line.slice(0, space) : '';
      const key = timeKey(stamp);
      if (key < keyAtStart) return;
      if (key === keyAtStart && keyAtStart) {
        replayedAtKey += 1;
        if (replayedAtKey <= countAtStart) return;
      }
      if (key === lastKey) atLastKey += 1;
      else [lastKey, atLastKey] = [key, 1];
      lastStamp = stamp;
      const position = { stamp: lastStamp, count: atLastKey };
      pendingWrites += 1;
      out.write(`${space > 0 ? line.slice(space + 1) : line}\n`, () => {
        flushed = position;
        pendingWrites -= 1;
        if (saveWhenWritten && pendingWrites === 0) savePosition();
      });
      saveTimer ??= setTimeout(savePosition, 500);
    });
    const closed = new Promise<void>((resolve) => lines.once('close', resolve));
    try {
      controller = await options.log.log(options.namespace, options.pod, options.container, stream, {
        follow: true,
        timestamps: true,
        ...(lastStamp ? { sinceTime: `${lastStamp.slice(0, 19)}Z` } : {}),
      });
    } catch (error) {
      stream.end();
      // 404: the pod is gone, and its log with it.
      if ((error as { code?: number }).code === 404) return 'ended';
      options.onError?.(error);
      return 'again';
    }
    // A connection cut without an end never closes the stream: once the container has ended and nothing came for a while, give up on it.
    const watchdog = setInterval(() => {
      if (stopped || (options.ended() && Date.now() - lastData > 3_000)) {
        controller?.abort();
        stream.end();
      }
    }, 500);
    await closed;
    clearInterval(watchdog);
    return endedBefore ? 'ended' : 'again';
  };

  const done = (async () => {
    while (!stopped) {
      if ((await round()) === 'ended') break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await new Promise((resolve) => out.end(resolve));
    savePosition();
  })();

  return {
    stop() {
      stopped = true;
      // Where it got is kept now, or as soon as the lines handed to the file are written (a
      // timer left behind would write after the follower is gone; an earlier position would
      // make the next follower write those lines again).
      if (pendingWrites > 0) saveWhenWritten = true;
      else if (saveTimer) savePosition();
      controller?.abort();
    },
    done,
  };
};
