import { type BenchRow, formatRow, formatTable } from './bench-row';

export const TABLE_START = '<!-- bench:table -->';
export const TABLE_END = '<!-- /bench:table -->';

const cellsOf = (line: string): string[] =>
  line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(' | ')
    .map((cell) => cell.trim());

/**
 * `docs/performance.md` with this run's rows written into its table (between TABLE_START and
 * TABLE_END): a row measured now replaces the row of the same benchmark and is dated; rows of
 * suites not run now keep their figures and dates; new benchmarks are appended. The page is
 * generated, not edited: `npm run bench -- --write docs/performance.md`.
 */
export const writeIntoDoc = (doc: string, rows: readonly BenchRow[], measuredOn: string): string => {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`the page has no ${TABLE_START} … ${TABLE_END} section to write the table into`);
  const kept = new Map<string, string>();
  for (const line of doc.slice(start + TABLE_START.length, end).split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| benchmark |')) continue;
    kept.set(cellsOf(line)[0] ?? '', line);
  }
  const fresh = new Map(rows.map((row) => [row.benchmark, formatRow(row, measuredOn)]));
  const merged = [...kept.keys(), ...[...fresh.keys()].filter((name) => !kept.has(name))].map((name) => fresh.get(name) ?? kept.get(name) ?? '');
  const table = [formatTable([], measuredOn), ...merged].join('\n');
  return `${doc.slice(0, start + TABLE_START.length)}\n${table}\n${doc.slice(end)}`;
};
