/** Metrics that are fractions by definition: accuracy, AUC, precision, recall, F1. */
const UNIT_METRIC = /acc|auc|precision|recall|f1/i;

export const isUnitMetric = (name: string): boolean => UNIT_METRIC.test(name);

/**
 * The y range a metric's chart shows: a fraction (accuracy, AUC, …) on 0–1 — widened only when
 * a value lies outside it, so nothing is hidden — so curves of different runs compare at a
 * glance; undefined (the chart's own fit) for anything else, such as a loss.
 */
export const yRangeFor = (name: string, dataMin: number | null, dataMax: number | null): [number, number] | undefined => {
  if (!isUnitMetric(name)) return undefined;
  const low = dataMin !== null && Number.isFinite(dataMin) ? Math.min(0, dataMin) : 0;
  const high = dataMax !== null && Number.isFinite(dataMax) ? Math.max(1, dataMax) : 1;
  return [low, high];
};

/**
 * The x range for steps/epochs: whole numbers around the data; a single step gets one on each
 * side so its point is not at the edge.
 */
export const stepRange = (dataMin: number | null, dataMax: number | null): [number, number] => {
  if (dataMin === null || dataMax === null || !Number.isFinite(dataMin) || !Number.isFinite(dataMax)) return [0, 1];
  const low = Math.floor(dataMin);
  const high = Math.ceil(dataMax);
  return high > low ? [low, high] : [low - 1, high + 1];
};

/** 1, 2, 5, 10, 20, 50, … — the smallest one at least `rough`. */
const niceStep = (rough: number): number => {
  let step = 1;
  for (let magnitude = 1; ; magnitude *= 10) {
    for (const factor of [1, 2, 5]) {
      step = factor * magnitude;
      if (step >= rough) return step;
    }
  }
};

/**
 * Tick positions for a step/epoch axis: whole numbers only (never a 0.5 step), at most
 * `maxTicks` of them, on a 1-2-5 spacing.
 */
export const integerTicks = (min: number, max: number, maxTicks = 10): number[] => {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return [];
  const first = Math.ceil(min);
  const last = Math.floor(max);
  if (last < first) return [];
  const step = niceStep((last - first) / Math.max(1, maxTicks - 1));
  const ticks: number[] = [];
  for (let tick = Math.ceil(first / step) * step; tick <= last; tick += step) ticks.push(tick);
  return ticks;
};
