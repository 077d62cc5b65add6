import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgressWriter, type ProgressUpdate } from './progress-writer';

describe('progress writer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const recorder = () => {
    const writes: Array<ProgressUpdate & { bytes: number }> = [];
    let published = 0;
    const writer = createProgressWriter(
      async (update) => {
        writes.push(update);
      },
      async () => {
        published += 1;
      },
      250,
    );
    return { writer, writes, published: () => published };
  };

  it('writes many small reports as one write per interval, bytes summed and the latest fields kept', async () => {
    const { writer, writes, published } = recorder();
    await writer.add(0, { bytesTotal: 300 });
    await writer.add(100, { progress: { uploads: { a: { sessionId: 's', parts: { '1': 'e1' } } } } });
    await writer.add(100, { progress: { uploads: { a: { sessionId: 's', parts: { '1': 'e1', '2': 'e2' } } } } });
    expect(writes).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(writes).toEqual([{ bytes: 200, bytesTotal: 300, progress: { uploads: { a: { sessionId: 's', parts: { '1': 'e1', '2': 'e2' } } } } }]);
    expect(published()).toBe(1);
    await writer.add(50);
    await vi.advanceTimersByTimeAsync(250);
    expect(writes.at(-1)).toEqual({ bytes: 50 });
  });

  it('flush writes what is pending at once (the end of an attempt) and waits for earlier writes', async () => {
    const { writer, writes, published } = recorder();
    await writer.add(10);
    await writer.flush();
    expect(writes).toEqual([{ bytes: 10 }]);
    expect(published()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(writes).toHaveLength(1);
  });
});
