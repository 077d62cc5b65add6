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

export const formatTable = (rows: readonly BenchRow[]): string => {
  const header = '| benchmark | median | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|';
  const lines = rows.map(
    (row) => `| ${row.benchmark} | ${row.value} | ${row.baseline ?? '—'} | ${row.ratio ?? '—'} | ${row.target} | ${row.pass ? 'yes' : 'NO'} |`,
  );
  return [header, ...lines].join('\n');
};
