/**
 * The layout of a parallel-coordinates chart, apart from drawing: one vertical axis per
 * parameter and one for the metric, each job a polyline through its values. An axis whose values
 * are all numbers is linear (logarithmic when all are positive and span at least 100×, as
 * learning rates do); any other axis is ordinal: its distinct values (missing shown as "—")
 * evenly spaced in natural order.
 */
export type Axis = { kind: 'linear' | 'log'; name: string; min: number; max: number } | { kind: 'ordinal'; name: string; categories: string[] };

const MISSING = '—';
const categoryOf = (value: unknown): string => (value === undefined || value === null ? MISSING : typeof value === 'string' ? value : JSON.stringify(value));

export const axisFor = (name: string, values: readonly unknown[]): Axis => {
  const numbers = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  if (numbers.length === values.length && numbers.length > 0) {
    let min = Infinity;
    let max = -Infinity;
    for (const value of numbers) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    return { kind: min > 0 && max / min >= 100 ? 'log' : 'linear', name, min, max };
  }
  const collator = new Intl.Collator(undefined, { numeric: true });
  return { kind: 'ordinal', name, categories: [...new Set(values.map(categoryOf))].sort(collator.compare) };
};

/** Where a value sits on its axis, 0 (bottom) to 1 (top); a single value or category sits in the middle. */
export const axisPosition = (axis: Axis, value: unknown): number => {
  if (axis.kind === 'ordinal') {
    const index = axis.categories.indexOf(categoryOf(value));
    return axis.categories.length < 2 ? 0.5 : index / (axis.categories.length - 1);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return Number.NaN;
  if (axis.max === axis.min) return 0.5;
  return axis.kind === 'log' ? (Math.log(value) - Math.log(axis.min)) / (Math.log(axis.max) - Math.log(axis.min)) : (value - axis.min) / (axis.max - axis.min);
};

/** A few labels along an axis, bottom to top: each category (every n-th past 12), or min, middle and max. */
export const axisLabels = (axis: Axis, format: (value: number) => string): Array<{ position: number; text: string }> => {
  if (axis.kind === 'ordinal') {
    const every = Math.ceil(axis.categories.length / 12);
    return axis.categories.flatMap((text, index) =>
      index % every === 0 ? [{ position: axis.categories.length < 2 ? 0.5 : index / (axis.categories.length - 1), text }] : [],
    );
  }
  if (axis.max === axis.min) return [{ position: 0.5, text: format(axis.min) }];
  const middle = axis.kind === 'log' ? Math.sqrt(axis.min * axis.max) : (axis.min + axis.max) / 2;
  return [
    { position: 0, text: format(axis.min) },
    { position: 0.5, text: format(middle) },
    { position: 1, text: format(axis.max) },
  ];
};

/**
 * Every job's polyline as positions (0–1) on each axis in order: the parameters, then the
 * metric, whose value also gives the line's shade (0 worst … 1 best, by the metric's direction).
 * A job without the metric is left out.
 */
export const parallelLines = (
  rows: ReadonlyArray<{ parameters: readonly unknown[]; metric: number | undefined }>,
  axes: readonly Axis[],
  direction: 'min' | 'max',
): Array<{ positions: number[]; shade: number }> => {
  const metricAxis = axes[axes.length - 1];
  if (!metricAxis) return [];
  return rows.flatMap((row) => {
    if (row.metric === undefined) return [];
    const positions = [...row.parameters.map((value, index) => axisPosition(axes[index] as Axis, value)), axisPosition(metricAxis, row.metric)];
    const onMetric = positions[positions.length - 1] as number;
    return [{ positions, shade: direction === 'max' ? onMetric : 1 - onMetric }];
  });
};
