import { type CompareJobsOutput, defaultDirection, METRIC_VALUES, metricValue, type MetricValueKind } from '@trainyard/contracts';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';

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
