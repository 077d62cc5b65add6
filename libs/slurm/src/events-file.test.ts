import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_EVENT_LINE_BYTES } from '@trainyard/training';
import { afterAll, describe, expect, it } from 'vitest';
import { followEventsFile } from './events-file';

const root = mkdtempSync(join(tmpdir(), 'trainyard-events-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

const follow = () => {
  files += 1;
  const path = join(root, `events-${files}.ndjson`);
  const offsetPath = join(root, `events-${files}.offset`);
  const lines: string[] = [];
  let oversized = 0;
  const make = () => followEventsFile(path, offsetPath, { line: (line) => lines.push(line), oversized: () => (oversized += 1) });
  return { path, offsetPath, lines, oversized: () => oversized, make };
};

describe('following an events file on a shared filesystem', () => {
  it('delivers appended lines once each, holding back a partial last line until its newline (or the final drain)', async () => {
    const f = follow();
    const events = f.make();
    await events.read(); // no file yet: the trainer has not started
    writeFileSync(f.path, 'one\ntw');
    await events.read();
    expect(f.lines).toEqual(['one']);
    appendFileSync(f.path, 'o\n\nthree');
    await events.read();
    expect(f.lines).toEqual(['one', 'two']);
    await events.drain();
    expect(f.lines).toEqual(['one', 'two', 'three']);
  });

  it('saves how far it got, so a follower after a restart goes on from there instead of delivering lines again', async () => {
    const f = follow();
    writeFileSync(f.path, 'a\nb\npartial');
    const first = f.make();
    await first.read();
    await first.save();
    expect(Number(readFileSync(f.offsetPath, 'utf8'))).toBe('a\nb\n'.length);
    appendFileSync(f.path, '\nc\n');
    const second = f.make();
    await second.read();
    expect(f.lines).toEqual(['a', 'b', 'partial', 'c']);
  });

  it('skips a line longer than the limit (counted) and goes on with the next', async () => {
    const f = follow();
    const events = f.make();
    writeFileSync(f.path, `${'x'.repeat(MAX_EVENT_LINE_BYTES + 10)}\nafter\n`);
    await events.read();
    expect(f.oversized()).toBe(1);
    expect(f.lines).toEqual(['after']);
  });
});
