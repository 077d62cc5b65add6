export interface Series {
  steps: number[];
  values: number[];
}

/**
 * A job's metric series, appended to by live events without re-rendering React: charts
 * subscribe and redraw at most once per animation frame, however fast points arrive.
 * Points that arrive before the initial (downsampled) history are kept and merged after it.
 */
export class LiveMetrics {
  private readonly series = new Map<string, Series>();
  private readonly listeners = new Set<() => void>();
  private pending: Array<[string, number, number]> | undefined = [];

  load(history: Record<string, { step: number[]; value: number[] }>): void {
    for (const [name, data] of Object.entries(history)) this.series.set(name, { steps: [...data.step], values: [...data.value] });
    const early = this.pending ?? [];
    this.pending = undefined;
    this.appendMany(early);
    this.notify();
  }

  appendMany(points: ReadonlyArray<readonly [string, number, number]>): void {
    if (this.pending) {
      this.pending.push(...points.map((point) => [...point] as [string, number, number]));
      return;
    }
    for (const [name, step, value] of points) {
      let series = this.series.get(name);
      if (!series) {
        series = { steps: [], values: [] };
        this.series.set(name, series);
      }
      // Already in the history (an event that raced the initial load): skip, keep steps ascending.
      const last = series.steps[series.steps.length - 1];
      if (last !== undefined && step <= last) continue;
      series.steps.push(step);
      series.values.push(value);
    }
    if (points.length > 0) this.notify();
  }

  get(name: string): Series | undefined {
    return this.series.get(name);
  }

  /** Metric names, sorted; the same string while the set of names does not change (for useSyncExternalStore). */
  names = (): string => [...this.series.keys()].sort().join('\n');

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
