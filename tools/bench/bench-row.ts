export interface BenchRow {
  benchmark: string;
  /** Median of the measured runs, with its unit. */
  value: string;
  /** The peer measured in the same run, when there is one. */
  baseline?: string;
  ratio?: string;
  target: string;
  pass: boolean;
}

/** One row of the Markdown table; with `measuredOn`, also the day it was measured (the docs' table). */
export const formatRow = (row: BenchRow, measuredOn?: string): string =>
  `| ${row.benchmark} | ${row.value} | ${row.baseline ?? '—'} | ${row.ratio ?? '—'} | ${row.target} | ${row.pass ? 'yes' : 'NO'} |${measuredOn === undefined ? '' : ` ${measuredOn} |`}`;

/** The Markdown table of rows (header, rule, one line a row). */
export const formatTable = (rows: readonly BenchRow[], measuredOn?: string): string => {
  const dated = measuredOn !== undefined;
  const header = `| benchmark | median | baseline (same run) | ratio | target | met |${dated ? ' measured |' : ''}\n|---|---|---|---|---|---|${dated ? '---|' : ''}`;
  return [header, ...rows.map((row) => formatRow(row, measuredOn))].join('\n');
};
