import { useEffect, useRef } from 'react';
import { type Axis, axisLabels, parallelLines } from '../lib/parallel-coordinates';
import { formatNumber } from '../lib/format';

const PADDING = { top: 28, bottom: 18, left: 60, right: 60 };

/** Worst red → best blue, so the good runs stand out; lines are drawn worst first, best on top. */
const shadeColor = (shade: number): string => `hsla(${Math.round(shade * 220)}, 75%, 45%, 0.35)`;

/**
 * Parameters against a metric as a parallel-coordinates chart on one canvas: drawn once per
 * change of its inputs (a thousand polylines take a few milliseconds). The axes drawn and the
 * number of lines are on the element for tests and the benchmark.
 */
export const ParallelCoordinates = ({
  axes,
  rows,
  direction,
  width,
  height = 320,
}: {
  axes: readonly Axis[];
  rows: ReadonlyArray<{ parameters: readonly unknown[]; metric: number | undefined }>;
  direction: 'min' | 'max';
  width: number;
  height?: number;
}) => {
  const canvas = useRef<HTMLCanvasElement>(null);
  const draws = useRef(0);
  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext('2d');
    if (!element || !context) return;
    const ratio = window.devicePixelRatio || 1;
    element.width = Math.round(width * ratio);
    element.height = Math.round(height * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const lines = parallelLines(rows, axes, direction).sort((a, b) => a.shade - b.shade);
    const plotWidth = width - PADDING.left - PADDING.right;
    const plotHeight = height - PADDING.top - PADDING.bottom;
    const x = (index: number): number => PADDING.left + (axes.length < 2 ? plotWidth / 2 : (index * plotWidth) / (axes.length - 1));
    const y = (position: number): number => PADDING.top + (1 - position) * plotHeight;
    context.lineWidth = 1;
    for (const line of lines) {
      context.strokeStyle = shadeColor(line.shade);
      context.beginPath();
      let drawing = false;
      line.positions.forEach((position, index) => {
        // A value an axis cannot place (a missing number) breaks the line there.
        if (!Number.isFinite(position)) {
          drawing = false;
          return;
        }
        if (drawing) context.lineTo(x(index), y(position));
        else context.moveTo(x(index), y(position));
        drawing = true;
      });
      context.stroke();
    }
    context.strokeStyle = '#1f2933';
    context.fillStyle = '#1f2933';
    context.font = '12px system-ui, sans-serif';
    axes.forEach((axis, index) => {
      context.beginPath();
      context.moveTo(x(index), y(0));
      context.lineTo(x(index), y(1));
      context.stroke();
      context.textAlign = 'center';
      context.font = '600 12px system-ui, sans-serif';
      context.fillText(axis.name, x(index), PADDING.top - 12);
      context.font = '11px system-ui, sans-serif';
      context.textAlign = index === axes.length - 1 ? 'left' : 'right';
      for (const label of axisLabels(axis, (value) => formatNumber(value, 3))) {
        context.fillText(label.text.slice(0, 14), x(index) + (index === axes.length - 1 ? 4 : -4), y(label.position) + 4);
      }
    });
    draws.current += 1;
    element.dataset['draws'] = String(draws.current);
    element.dataset['drawnAt'] = performance.now().toFixed(1);
    element.dataset['lines'] = String(lines.length);
    element.dataset['axes'] = axes.map((axis: Axis) => `${axis.name}:${axis.kind}`).join(',');
  }, [axes, rows, direction, width, height]);
  return (
    <canvas
      ref={canvas}
      className="parallel-coordinates"
      data-testid="parallel-coordinates"
      role="img"
      aria-label={`Parallel coordinates: ${axes.map((axis) => axis.name).join(', ')}`}
      style={{ width, height }}
    />
  );
};
