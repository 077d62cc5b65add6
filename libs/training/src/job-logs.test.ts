import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureLine, jobLogSize, readJobLog, wholeUtf8Length } from './job-logs';

const root = mkdtempSync(join(tmpdir(), 'trainyard-job-logs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let jobs = 0;
/** A job directory with `logs/<stream>.log` holding `content`. */
const jobWith = (stream: string, content: string | Buffer): string => {
  const dir = join(root, `job-${(jobs += 1)}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(join(dir, 'logs', `${stream}.log`), content);
  return dir;
};

describe('job logs (real files)', () => {
  it('tails the last N lines from a bounded window, dropping the line the window cuts', async () => {
    const lines = Array.from({ length: 1_000 }, (_, i) => `line ${i}`);
    const dir = jobWith('stderr', `${lines.join('\n')}\n`);
    const last3 = await readJobLog(dir, 'stderr', { tail: 3, length: 64 * 1024 });
    expect(last3.text).toBe('line 997\nline 998\nline 999\n');
    expect(last3.nextOffset).toBe(last3.size);
    expect(last3.offset).toBe(last3.size - Buffer.byteLength(last3.text));
    // A 100-byte window: only whole lines, never "ne 987" cut in half.
    const window = await readJobLog(dir, 'stderr', { tail: 1_000, length: 100 });
    expect(
      window.text
        .split('\n')
        .filter(Boolean)
        .every((line) => /^line \d+$/.test(line)),
    ).toBe(true);
    expect(Buffer.byteLength(window.text)).toBeLessThanOrEqual(100);
    expect(window.text.endsWith('line 999\n')).toBe(true);
  });

  it('reads a byte range as whole UTF-8 characters and follows on from nextOffset', async () => {
    const text = 'é'.repeat(10) + '\n' + '日本'.repeat(5);
    const dir = jobWith('stdout', text);
    let collected = '';
    for (let offset = 0, reads = 0; reads < 100; reads += 1) {
      const slice = await readJobLog(dir, 'stdout', { offset, length: 5 });
      if (slice.nextOffset === offset) break;
      expect(slice.text).not.toContain('\uFFFD');
      collected += slice.text;
      offset = slice.nextOffset;
    }
    expect(collected).toBe(text);
    // A character still being written at the end of the log is left for the next read.
    const partial = jobWith('stdout', Buffer.concat([Buffer.from('ok '), Buffer.from('日').subarray(0, 2)]));
    const slice = await readJobLog(partial, 'stdout', { offset: 0, length: 1024 });
    expect(slice).toMatchObject({ text: 'ok ', nextOffset: 3, size: 5 });
    expect(wholeUtf8Length(Buffer.from('a日'))).toBe(4);
  });

  it('an absent log is empty; a symlinked log, logs dir or FIFO is refused, never followed', async () => {
    expect(await readJobLog(join(root, 'no-such-job'), 'stderr', { length: 10 })).toEqual({ text: '', size: 0, offset: 0, nextOffset: 0 });
    const secret = join(root, 'secret.txt');
    writeFileSync(secret, 'the session token\n');
    const linkedFile = join(root, 'linked-file');
    mkdirSync(join(linkedFile, 'logs'), { recursive: true });
    symlinkSync(secret, join(linkedFile, 'logs', 'stderr.log'));
    await expect(readJobLog(linkedFile, 'stderr', { length: 100 })).rejects.toThrow(/symlink; not read/);
    const linkedDir = join(root, 'linked-dir');
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'stderr.log'), 'not the job\n');
    mkdirSync(linkedDir);
    symlinkSync(join(root, 'elsewhere'), join(linkedDir, 'logs'));
    await expect(readJobLog(linkedDir, 'stderr', { length: 100 })).rejects.toThrow(/not a plain directory/);
    const fifo = join(root, 'fifo-job');
    mkdirSync(join(fifo, 'logs'), { recursive: true });
    execFileSync('mkfifo', [join(fifo, 'logs', 'stderr.log')]);
    await expect(readJobLog(fifo, 'stderr', { length: 100 })).rejects.toThrow(/not a regular file/);
  });

  it('finds the line that says why: the exception after a traceback, not Node’s version line or a stack frame', async () => {
    const python = jobWith('stderr', 'old attempt: KeyError: x\n');
    const from = await jobLogSize(python, 'stderr');
    appendFileSync(
      join(python, 'logs', 'stderr.log'),
      'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n    main()\nValueError: learning rate must be positive\n\n',
    );
    expect(await failureLine(python, from)).toBe('ValueError: learning rate must be positive');
    // Nothing written by this attempt: no line from an earlier one.
    expect(await failureLine(python, await jobLogSize(python, 'stderr'))).toBeUndefined();
    const node = jobWith('stderr', '/x/train.mjs:1\nthrow new Error("boom")\n^\n\nError: boom\n    at file:///x/train.mjs:1:7\n\nNode.js v22.0.0\n');
    expect(await failureLine(node, 0)).toBe('Error: boom');
    const plain = jobWith('stderr', 'loading data\nout of disk space on /data\n');
    expect(await failureLine(plain, 0)).toBe('out of disk space on /data');
    const long = jobWith('stderr', `RuntimeError: ${'x'.repeat(1_000)}\u001b[31m\n`);
    const line = await failureLine(long, 0);
    expect(line?.length).toBe(300);
    expect(line).not.toContain('\u001b');
  });
});
