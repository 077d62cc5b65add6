import { type ComparedJob, type CompareJobsOutput, defaultDirection, type MetricDirection, metricValue, type MetricValueKind } from '@trainyard/contracts';

/** What the user chose for one metric column: which value, and which direction is better. */
export interface MetricSetting {
  kind: MetricValueKind;
  direction: MetricDirection;
}

/** A column of the compare table: a job's name, a hyperparameter or a metric. */
export type Column = { type: 'name' } | { type: 'parameter'; name: string } | { type: 'metric'; name: string };

export const columnKey = (column: Column): string => (column.type === 'name' ? 'name' : `${column.type}:${column.name}`);

export const settingFor = (settings: Readonly<Record<string, MetricSetting>>, metric: string): MetricSetting =>
  settings[metric] ?? { kind: 'best', direction: defaultDirection(metric) };

/** A parameter's value as text: strings as they are, anything else as JSON, missing as empty. */
export const parameterText = (value: unknown): string => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

/** The value a cell shows and sorts by: a number for metrics and numeric parameters, else text. */
export const cellValue = (job: ComparedJob, column: Column, settings: Readonly<Record<string, MetricSetting>>): number | string | undefined => {
  if (column.type === 'name') return job.name;
  if (column.type === 'metric') {
    const setting = settingFor(settings, column.name);
    return metricValue(job.metrics[column.name], setting.kind, setting.direction);
  }
  const value = job.hyperparameters[column.name];
  return typeof value === 'number' ? value : value === undefined ? undefined : parameterText(value);
};

export type SortOrder = 'asc' | 'desc';

/** Rows sorted by a column (numbers by value, text in natural order); a missing value always last. Stable. */
export const sortJobs = (jobs: readonly ComparedJob[], column: Column, order: SortOrder, settings: Readonly<Record<string, MetricSetting>>): ComparedJob[] => {
  const keyed = jobs.map((job, index) => ({ job, index, value: cellValue(job, column, settings) }));
  const collator = new Intl.Collator(undefined, { numeric: true });
  const sign = order === 'asc' ? 1 : -1;
  keyed.sort((a, b) => {
    if (a.value === undefined || b.value === undefined) return a.value === b.value ? a.index - b.index : a.value === undefined ? 1 : -1;
    const compared =
      typeof a.value === 'number' && typeof b.value === 'number'
        ? a.value - b.value
        : typeof a.value === 'number'
          ? -1 // numbers before text in a mixed column
          : typeof b.value === 'number'
            ? 1
            : collator.compare(a.value, b.value);
    return compared === 0 ? a.index - b.index : sign * compared;
  });
  return keyed.map((entry) => entry.job);
};

export interface NumericFilter {
  column: Column;
  op: '>=' | '<=';
  value: number;
}

/**
 * The rows a filter keeps: the text matches the job's name (case-insensitive, anywhere) and the
 * numeric filter's column holds a number on the right side of its value (a job without one is
 * left out).
 */
export const filterJobs = (
  jobs: readonly ComparedJob[],
  filter: { text?: string; numeric?: NumericFilter },
  settings: Readonly<Record<string, MetricSetting>>,
): ComparedJob[] => {
  const text = filter.text?.trim().toLowerCase() ?? '';
  const numeric = filter.numeric;
  return jobs.filter((job) => {
    if (text && !job.name.toLowerCase().includes(text)) return false;
    if (!numeric) return true;
    const value = cellValue(job, numeric.column, settings);
    if (typeof value !== 'number') return false;
    return numeric.op === '>=' ? value >= numeric.value : value <= numeric.value;
  });
};

/** Mean and sample standard deviation (n − 1) of the numbers; std is undefined for fewer than two. */
export const meanStd = (values: readonly number[]): { mean: number; std: number | undefined; n: number } | undefined => {
  if (values.length === 0) return undefined;
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return { mean, std: undefined, n: 1 };
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance), n: values.length };
};

export interface JobGroup {
  /** The parameter's value the group's jobs share, as text ('' when they lack the parameter). */
  key: string;
  jobs: ComparedJob[];
  /** Per metric, the mean ± std of the chosen value over the group's jobs that have one. */
  metrics: Record<string, ReturnType<typeof meanStd>>;
}

/** Jobs grouped by one parameter's value (groups in natural order of their values), each metric summed up as mean ± std. */
export const groupJobs = (
  jobs: readonly ComparedJob[],
  parameter: string,
  metrics: readonly string[],
  settings: Readonly<Record<string, MetricSetting>>,
): JobGroup[] => {
  const groups = new Map<string, ComparedJob[]>();
  for (const job of jobs) {
    const key = parameterText(job.hyperparameters[parameter]);
    const members = groups.get(key);
    if (members) members.push(job);
    else groups.set(key, [job]);
  }
  const collator = new Intl.Collator(undefined, { numeric: true });
  return [...groups.entries()]
    .sort(([a], [b]) => collator.compare(a, b))
    .map(([key, members]) => ({
      key,
      jobs: members,
      metrics: Object.fromEntries(
        metrics.map((metric) => {
          const values = members
            .map((job) => cellValue(job, { type: 'metric', name: metric }, settings))
            .filter((value): value is number => typeof value === 'number');
          return [metric, meanStd(values)];
        }),
      ),
    }));
};

/** Groups sorted by a metric's mean (groups without one last), or left in value order for any other column. */
export const sortGroups = (groups: readonly JobGroup[], column: Column, order: SortOrder): JobGroup[] => {
  if (column.type !== 'metric') return order === 'asc' ? [...groups] : [...groups].reverse();
  const sign = order === 'asc' ? 1 : -1;
  return [...groups].sort((a, b) => {
    const x = a.metrics[column.name]?.mean;
    const y = b.metrics[column.name]?.mean;
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return sign * (x - y);
  });
};

/** The columns shown: name, the parameters (only those that differ unless `allParameters`), then every metric. */
export const tableColumns = (result: CompareJobsOutput, allParameters: boolean): Column[] => [
  { type: 'name' },
  ...(allParameters ? result.parameters : result.differingParameters).map((name): Column => ({ type: 'parameter', name })),
  ...result.metrics.map((name): Column => ({ type: 'metric', name })),
];

/** `/compare?ids=a,b,c`: the page's address for these jobs. */
export const compareHref = (ids: readonly string[]): string => `/compare?ids=${ids.join(',')}`;

/** The job ids of a compare address (`ids=a,b,c`; also repeated `ids=`), each once, in order. */
export const idsFromSearch = (search: URLSearchParams): string[] => [
  ...new Set(
    search
      .getAll('ids')
      .flatMap((value) => value.split(','))
      .map((id) => id.trim())
      .filter(Boolean),
  ),
];
