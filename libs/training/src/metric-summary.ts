import type { MetricSummary } from '@trainyard/contracts';

/**
 * A series' summary in one pass over its stored records (step, value, time as float64): the last
 * point, the first lowest and first highest finite value with their steps, and the count. Reads
 * `total` records; a torn record after them is not passed in.
 */
export const summariseSeries = (points: Float64Array, total: number): MetricSummary | undefined => {
  if (total === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let minStep: number | null = null;
  let maxStep: number | null = null;
  for (let i = 0; i < total; i += 1) {
    const value = points[i * 3 + 1] as number;
    // NaN fails both comparisons; ±Infinity is not finite: neither becomes a min or max.
    if (!Number.isFinite(value)) continue;
    if (value < min) {
      min = value;
      minStep = points[i * 3] as number;
    }
    if (value > max) {
      max = value;
      maxStep = points[i * 3] as number;
    }
  }
  const last = points[(total - 1) * 3 + 1] as number;
  return {
    last: Number.isFinite(last) ? last : null,
    lastStep: points[(total - 1) * 3] as number,
    min: minStep === null ? null : min,
    minStep,
    max: maxStep === null ? null : max,
    maxStep,
    count: total,
  };
};
