import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { integerTicks, stepRange, yRangeFor } from '../lib/chart-axes';
import type { Series } from '../lib/live-metrics';

export interface ChartSource {
  label: string;
  series: () => Series | undefined;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** uPlot wants one shared x array: the union of every source's steps, gaps as null. */
const alignedData = (sources: readonly ChartSource[]): uPlot.AlignedData => {
  const tables = sources.map((source) => {
    const series = source.series() ?? { steps: [], values: [] };
    return [series.steps, series.values] as uPlot.AlignedData;
  });
  if (tables.length === 1) return tables[0] ?? [[], []];
  return uPlot.join(tables);
};

/**
 * One metric over steps, for one job or several to compare. Drag to zoom, double-click to
 * reset. `subscribe` (live series) triggers redraws coalesced to one per animation frame.
 */
export const MetricChart = ({
  title,
  sources,
  subscribe,
  width = 500,
  height = 240,
}: {
  title: string;
  sources: readonly ChartSource[];
  subscribe?: (listener: () => void) => () => void;
  width?: number;
  height?: number;
}) => {
  const container = useRef<HTMLDivElement>(null);
  const labels = sources.map((source) => source.label).join('\n');
  const current = useRef(sources);
  current.current = sources;
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let draws = 0;
    let zoomed = false;
    let xTicks: number[] = [];
    const unzoom = () => {
      zoomed = false;
    };
    element.addEventListener('dblclick', unzoom);
    const plot = new uPlot(
      {
        title,
        width,
        height,
        // Steps/epochs are whole numbers (no 0.5 ticks); a fraction (accuracy, AUC…) stays on 0–1.
        scales: {
          x: { time: false, range: (_u, min, max) => stepRange(min, max) },
          y: { range: (u, min, max) => yRangeFor(title, min, max) ?? uPlot.rangeNum(min, max, 0.1, true) },
        },
        axes: [
          {
            label: 'step',
            splits: (u, _axis, min, max) => {
              xTicks = integerTicks(min, max, Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 50)));
              return xTicks;
            },
            values: (_u, splits) => splits.map((tick) => String(tick)),
          },
          {},
        ],
        series: [
          { label: 'step' },
          ...sources.map((source, index) => ({ label: source.label, stroke: COLORS[index % COLORS.length], width: 1.5, spanGaps: true })),
        ],
        cursor: { drag: { x: true, y: false } },
        hooks: {
          // Exposed for the UI benchmark and tests: how often and how long drawing took.
          draw: [
            (u) => {
              draws += 1;
              element.dataset['draws'] = String(draws);
              element.dataset['drawnAt'] = performance.now().toFixed(1);
              // The axes as drawn (the canvas has no DOM to read them from).
              element.dataset['yRange'] = `${u.scales['y']?.min ?? ''},${u.scales['y']?.max ?? ''}`;
              element.dataset['xTicks'] = xTicks.join(',');
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width > 0) zoomed = true;
            },
          ],
        },
      },
      alignedData(current.current),
      element,
    );
    element.dataset['points'] = String(plot.data[0]?.length ?? 0);
    let frame = 0;
    const redraw = () => {
      frame = 0;
      const data = alignedData(current.current);
      // Keep the user's zoom while live points arrive.
      plot.setData(data, !zoomed);
      element.dataset['points'] = String(data[0]?.length ?? 0);
    };
    const unsubscribe = subscribe?.(() => {
      if (frame === 0) frame = requestAnimationFrame(redraw);
    });
    return () => {
      unsubscribe?.();
      element.removeEventListener('dblclick', unzoom);
      cancelAnimationFrame(frame);
      plot.destroy();
    };
    // Sources are identified by their labels; their data is read through the getters.
  }, [title, labels, subscribe, width, height]);
  return <div ref={container} className="chart" data-testid={`chart-${title}`} role="img" aria-label={`${title} chart`} />;
};
