import type { MetricSummary } from './jobs.schema';

/** Which of a metric's values a comparison shows: its best (by direction), last, lowest or highest. */
export const METRIC_VALUES = ['best', 'last', 'min', 'max'] as const;
export type MetricValueKind = (typeof METRIC_VALUES)[number];
export type MetricDirection = 'min' | 'max';

/** Names of metrics where lower is better; every other metric is better higher. */
const LOWER_IS_BETTER = /loss|error|perplexity/i;

/** The default direction of a metric: `min` for names containing loss, error or perplexity, else `max`. */
export const defaultDirection = (metric: string): MetricDirection => (LOWER_IS_BETTER.test(metric) ? 'min' : 'max');

/** The value a comparison shows for one job's metric (undefined: the job has no such value). */
export const metricValue = (summary: MetricSummary | undefined, kind: MetricValueKind, direction: MetricDirection): number | undefined => {
  if (!summary) return undefined;
  const chosen = kind === 'best' ? summary[direction] : kind === 'last' ? summary.last : summary[kind];
  return chosen ?? undefined;
};

/** The step that value was reached at. */
export const metricValueStep = (summary: MetricSummary | undefined, kind: MetricValueKind, direction: MetricDirection): number | undefined => {
  if (!summary) return undefined;
  const field = kind === 'best' ? direction : kind;
  const step = field === 'last' ? summary.lastStep : field === 'min' ? summary.minStep : summary.maxStep;
  return step ?? undefined;
};
