import { describe, expect, it } from 'vitest';
import type { BenchRow } from './bench-row';
import { TABLE_END, TABLE_START, writeIntoDoc } from './docs-table';

const row = (benchmark: string, value: string, pass = true): BenchRow => ({ benchmark, value, target: '≤ 1 s', pass });
const page = (table: string): string => `# Performance\n\nIntro.\n\n${TABLE_START}\n${table}\n${TABLE_END}\n\n## Notes\n\nKept.\n`;

describe('writing bench rows into docs/performance.md', () => {
  it('replaces the rows measured now, keeps the others with their dates, appends new ones, and leaves the prose alone', () => {
    const before = page(
      [
        '| benchmark | median | baseline (same run) | ratio | target | met | measured |',
        '|---|---|---|---|---|---|---|',
        '| import | 3 s | — | — | ≤ 1 s | NO | 2026-11-01 |',
        '| list | 5 ms | — | — | ≤ 1 s | yes | 2026-11-01 |',
      ].join('\n'),
    );
    const after = writeIntoDoc(before, [row('import', '0.9 s'), row('push', '2 s', false)], '2026-11-29');
    expect(after).toBe(
      page(
        [
          '| benchmark | median | baseline (same run) | ratio | target | met | measured |',
          '|---|---|---|---|---|---|---|',
          '| import | 0.9 s | — | — | ≤ 1 s | yes | 2026-11-29 |',
          '| list | 5 ms | — | — | ≤ 1 s | yes | 2026-11-01 |',
          '| push | 2 s | — | — | ≤ 1 s | NO | 2026-11-29 |',
        ].join('\n'),
      ),
    );
    expect(writeIntoDoc(after, [row('import', '0.9 s'), row('push', '2 s', false)], '2026-11-29')).toBe(after); // idempotent
  });

  it('refuses a page without the table markers instead of writing somewhere else', () => {
    expect(() => writeIntoDoc('# Performance\n', [row('a', '1 s')], '2026-11-29')).toThrow(/bench:table/);
  });
});
