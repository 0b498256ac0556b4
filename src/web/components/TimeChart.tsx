import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  color: string;
  /** Dashed line, for limits and targets. */
  dash?: boolean;
  /** A step line, for values that change at moments (replicas, shares). */
  stepped?: boolean;
  width?: number;
}

export interface ChartBand {
  /** Shaded between these y values (null: open on that side), e.g. a task's healthy range. */
  min: number | null;
  max: number | null;
  color: string;
}

export interface ChartSpan {
  /** Shaded between these x values, e.g. the minutes a metric was outside its band. */
  from: number;
  to: number;
  color: string;
}

export interface TimeChartProps {
  /** Accessible name: what the chart shows, read out instead of the picture. */
  label: string;
  /** x values first, then one array per series; x in seconds since epoch for time axes. */
  data: Array<Array<number | null>>;
  series: ChartSeries[];
  height?: number;
  /** x is time (default) or a plain number (offered load, say). */
  time?: boolean;
  xLabel?: string;
  yLabel?: string;
  bands?: ChartBand[];
  spans?: ChartSpan[];
  yRange?: [number | null, number | null];
}

/**
 * A uPlot line chart that fits its container's width. Bands and spans are drawn under the lines, so
 * a healthy range or an incident reads at a glance.
 */
export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const el = box.current!;
    const { series, time = true, height = 220, xLabel, yLabel, yRange } = props;
    const drawShades = (u: uPlot) => {
      const { ctx } = u;
      const { left, top, width, height: h } = u.bbox;
      ctx.save();
      for (const band of latest.current.bands ?? []) {
        const y0 = band.max === null ? top : u.valToPos(band.max, 'y', true);
        const y1 = band.min === null ? top + h : u.valToPos(band.min, 'y', true);
        ctx.fillStyle = band.color;
        ctx.fillRect(left, Math.max(top, y0), width, Math.min(top + h, y1) - Math.max(top, y0));
      }
      for (const span of latest.current.spans ?? []) {
        const x0 = u.valToPos(span.from, 'x', true);
        const x1 = u.valToPos(span.to, 'x', true);
        ctx.fillStyle = span.color;
        ctx.fillRect(Math.max(left, x0), top, Math.min(left + width, x1) - Math.max(left, x0), h);
      }
      ctx.restore();
    };
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height,
      scales: { x: { time }, y: yRange ? { range: (_u, min, max) => [yRange[0] ?? min, yRange[1] ?? max] } : {} },
      axes: [
        { ...(xLabel ? { label: xLabel } : {}), stroke: '#3d4451', grid: { stroke: '#e3e6eb' } },
        { ...(yLabel ? { label: yLabel } : {}), stroke: '#3d4451', grid: { stroke: '#e3e6eb' }, size: 60 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          spanGaps: false,
          ...(s.dash ? { dash: [6, 4] } : {}),
          ...(s.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
      hooks: { drawClear: [drawShades] },
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
    plot.current = new uPlot(opts, props.data as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt when the set of series changes; data alone is set in place below.
  }, [props.series.map((s) => s.label).join('|'), props.time, props.height]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}
