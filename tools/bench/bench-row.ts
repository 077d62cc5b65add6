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

/** The Markdown table of rows; with `measuredOn`, each row also says the day it was measured (the docs' table). */
export const formatTable = (rows: readonly BenchRow[], measuredOn?: string): string => {
  const dated = measuredOn !== undefined;
  const header = `| benchmark | median | baseline (same run) | ratio | target | met |${dated ? ' measured |' : ''}\n|---|---|---|---|---|---|${dated ? '---|' : ''}`;
  const lines = rows.map(
    (row) =>
      `| ${row.benchmark} | ${row.value} | ${row.baseline ?? '—'} | ${row.ratio ?? '—'} | ${row.target} | ${row.pass ? 'yes' : 'NO'} |${dated ? ` ${measuredOn} |` : ''}`,
  );
  return [header, ...lines].join('\n');
};
