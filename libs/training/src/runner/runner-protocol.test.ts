import { describe, expect, it } from 'vitest';
import { jobRelativePath, runnerFinish, runnerOutputs, runnerRecordsBatch } from './runner-protocol';

describe('the runner wire format', () => {
  it('takes only job-relative paths for outputs: no absolute path, no . or .. segment, no backslash', () => {
    for (const ok of ['output/model/model.bin', 'checkpoints/epoch-1/state.pt', 'notes.txt', 'a..b/c'])
      expect(jobRelativePath.safeParse(ok).success).toBe(true);
    for (const bad of ['/etc/passwd', '../x', 'output/../../x', './x', 'output/./x', 'a\\b', 'output/model/..', '', 'a\0b'])
      expect(jobRelativePath.safeParse(bad).success, bad).toBe(false);
  });

  it('refuses unknown keys, empty and oversized batches, and sizes that are not byte counts', () => {
    expect(runnerRecordsBatch.safeParse({ records: [], extra: 1 }).success).toBe(false);
    expect(runnerRecordsBatch.safeParse({ records: [] }).success).toBe(false);
    const log = (seq: number) => ({ seq, kind: 'log', stream: 'stdout', line: 'x' });
    expect(runnerRecordsBatch.safeParse({ records: Array.from({ length: 1_001 }, (_, i) => log(i + 1)) }).success).toBe(false);
    expect(runnerRecordsBatch.safeParse({ records: [{ ...log(1), stream: 'stdin' }] }).success).toBe(false);
    expect(runnerRecordsBatch.safeParse({ records: [{ ...log(1), secret: true }] }).success).toBe(false);
    expect(runnerOutputs.safeParse({ files: [{ path: 'output/model/m', sha256: 'A'.repeat(64), size: 1 }] }).success).toBe(false);
    expect(runnerOutputs.safeParse({ files: [{ path: 'output/model/m', sha256: 'a'.repeat(64), size: -1 }] }).success).toBe(false);
    expect(
      runnerFinish.safeParse({ lastSeq: 3, outcome: { kind: 'exited', exitCode: 0 }, badEvents: { unsent: 0, last: [] }, nonFiniteMetrics: 0 }).success,
    ).toBe(true);
    expect(
      runnerFinish.safeParse({ lastSeq: 3, outcome: { kind: 'exited', exitCode: 0, pid: 1 }, badEvents: { unsent: 0, last: [] }, nonFiniteMetrics: 0 }).success,
    ).toBe(false);
  });
});
