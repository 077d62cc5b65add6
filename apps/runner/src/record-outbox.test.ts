import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRecordOutbox } from './record-outbox';

const dirs: string[] = [];
const outboxFile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-outbox-'));
  dirs.push(dir);
  return join(dir, 'runner', 'records.ndjson');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the runner’s record outbox', () => {
  it('numbers records in order and writes them to its file before they are sent', () => {
    const file = outboxFile();
    const outbox = createRecordOutbox(file);
    expect(outbox.add({ kind: 'log', stream: 'stdout', line: 'one' })).toBe(1);
    expect(outbox.add({ kind: 'event', event: { type: 'progress', fraction: 0.5 } })).toBe(2);
    outbox.flush();
    expect(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { seq: number }).seq),
    ).toEqual([1, 2]);
  });

  it('sends from the first record not acknowledged, and the same batch again until it is', () => {
    const outbox = createRecordOutbox(outboxFile());
    for (let i = 0; i < 5; i += 1) outbox.add({ kind: 'log', stream: 'stderr', line: `line ${i} é` });
    const first = outbox.nextBatch();
    expect(first.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    // Not acknowledged (the connection dropped): the same records again.
    expect(outbox.nextBatch().records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    outbox.ack(5, first.end);
    expect(outbox.nextBatch().records).toEqual([]);
    outbox.add({ kind: 'log', stream: 'stderr', line: 'after' });
    expect(outbox.nextBatch().records.map((r) => r.seq)).toEqual([6]);
    expect(outbox.acked()).toBe(5);
    expect(outbox.lastSeq()).toBe(6);
  });

  it('cuts batches at 1 000 records and sends a record longer than one read alone', () => {
    const outbox = createRecordOutbox(outboxFile());
    for (let i = 0; i < 1_500; i += 1) outbox.add({ kind: 'log', stream: 'stdout', line: String(i) });
    const batch = outbox.nextBatch();
    expect(batch.records).toHaveLength(1_000);
    outbox.ack(1_000, batch.end);
    expect(outbox.nextBatch().records[0]?.seq).toBe(1_001);

    const big = createRecordOutbox(outboxFile());
    big.add({ kind: 'event', event: { type: 'log', level: 'info', message: 'x'.repeat(1_500_000) } });
    expect(big.nextBatch().records).toHaveLength(1);
  });
});
