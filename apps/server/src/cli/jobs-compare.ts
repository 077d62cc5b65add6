import { type CompareJobsOutput, defaultDirection, METRIC_VALUES, metricValue, type MetricValueKind } from '@trainyard/contracts';
import type { TrainyardClient } from '@trainyard/client';
import { CliError } from './cli-error';
import type { GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { printJson, printLine, printTable } from './output';

/** `--value`: best (by each metric's default direction), last, min or max. */
export const parseMetricValue = (value: string): MetricValueKind => {
  if (!(METRIC_VALUES as readonly string[]).includes(value)) throw new CliError(`--value must be ${METRIC_VALUES.join(', ')}, got "${value}"`, EXIT.USAGE);
  return value as MetricValueKind;
};

/** A parameter's value in a cell: strings as they are, anything else as JSON; missing is empty. */
const parameterText = (value: unknown): string => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

const metricText = (value: number | undefined): string => (value === undefined ? '' : Number.isInteger(value) ? String(value) : value.toPrecision(6));

/**
 * The table `jobs compare` prints: a row per job (in the order given) with its id, name and
 * status, the parameters that differ, and each metric's chosen value; the header says which
 * value (best with its direction: `val_loss (best, min)`).
 */
export const compareTable = (result: CompareJobsOutput, kind: MetricValueKind): { head: string[]; rows: string[][] } => ({
  head: [
    'id',
    'name',
    'status',
    ...result.differingParameters,
    ...result.metrics.map((metric) => `${metric} (${kind === 'best' ? `best, ${defaultDirection(metric)}` : kind})`),
  ],
  rows: result.jobs.map((job) => [
    job.id,
    job.name,
    job.status,
    ...result.differingParameters.map((name) => parameterText(job.hyperparameters[name])),
    ...result.metrics.map((metric) => metricText(metricValue(job.metrics[metric], kind, defaultDirection(metric)))),
  ]),
});

export type CompareOptions = GlobalOptions & { metric?: string[]; value: string; json?: boolean };

/** What `jobs compare` and `sweeps compare` print: the table, and the parameters every job shares; or the JSON. */
export const printComparison = async (client: TrainyardClient, ids: string[], options: CompareOptions): Promise<void> => {
  const kind = parseMetricValue(options.value);
  const result = await client.jobs.compare.query({ jobIds: ids, ...(options.metric ? { metrics: options.metric } : {}) });
  if (options.json) return printJson(result);
  const { head, rows } = compareTable(result, kind);
  printTable(head, rows);
  if (result.differingParameters.length < result.parameters.length) {
    const same = result.parameters.filter((name) => !result.differingParameters.includes(name));
    printLine(`Same on every job: ${same.map((name) => `${name}=${JSON.stringify(result.jobs[0]?.hyperparameters[name])}`).join(', ')}`);
  }
};
