/**
 * uPlot charts of one job: a live log-scale series (loss or gradient norm by iteration) and a scatter of
 * one vector against another with the line y = x (x against xStar, leverage against sigma).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 230;
const INK = '#1d4ed8';
const GUIDE = '#9ca3af';

function widthOf(el: HTMLElement): number {
  return Math.max(240, Math.floor(el.clientWidth || el.getBoundingClientRect().width) - 4);
}

const plots = new Set<{ plot: uPlot; el: HTMLElement }>();
window.addEventListener('resize', () => {
  for (const { plot, el } of plots) plot.setSize({ width: widthOf(el), height: HEIGHT });
});

function mount(
  el: HTMLElement,
  opts: Omit<uPlot.Options, 'width' | 'height'>,
  data: uPlot.AlignedData,
): uPlot {
  el.replaceChildren();
  const plot = new uPlot({ ...opts, width: widthOf(el), height: HEIGHT }, data, el);
  plots.add({ plot, el });
  return plot;
}

export function destroyPlots(): void {
  for (const { plot } of plots) plot.destroy();
  plots.clear();
}

/**
 * log10 of a value, or a gap for what a log axis cannot show (0, negatives, non-finite: the API's null).
 * The series are drawn as exponents on a linear scale: uPlot's own log scale formats its ticks with fixed
 * decimals, which breaks for the 1e-30 losses a converged Newton run reaches.
 */
const log10 = (v: number | null): number | null =>
  v !== null && Number.isFinite(v) && v > 0 ? Math.log10(v) : null;
const power = (exponent: number): string => {
  const rounded = Math.round(exponent);
  return Math.abs(exponent - rounded) < 1e-9 ? `1e${rounded}` : (10 ** exponent).toPrecision(3);
};

/** Ticks in exponents: at most 6, at multiples of a round step (tenths of a decade for a narrow range). */
function exponentTicks(min: number, max: number): number[] {
  const steps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
  const step = steps.find((s) => (max - min) / s <= 6) ?? 200;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + 1e-9; k++) ticks.push(k * step);
  return ticks;
}

/** A log-scale series that grows: append points, and it redraws at most once a frame. */
export class LogSeries {
  private readonly xs: number[] = [];
  private readonly ys: (number | null)[] = [];
  private readonly plot: uPlot;
  private readonly el: HTMLElement;
  private pending = false;
  private lastValue: number | null = Number.NaN;

  constructor(el: HTMLElement, label: string) {
    this.el = el;
    this.plot = mount(
      el,
      {
        scales: { x: { time: false }, y: { auto: true } },
        axes: [
          // iterations are whole numbers
          {
            label: 'iteration',
            incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5],
          },
          {
            label,
            size: 64,
            splits: (_u, _axis, min, max) => exponentTicks(min, max),
            values: (_u, splits) => splits.map(power),
          },
        ],
        series: [
          { label: 'iteration' },
          {
            label,
            stroke: INK,
            width: 1.5,
            spanGaps: true,
            points: { show: false },
            value: (_u, v) => (v === null || v === undefined ? '--' : (10 ** v).toExponential(3)),
          },
        ],
      },
      [[], []],
    );
  }

  /** Forgets every point (to draw the recorded iterates afresh). */
  reset(): void {
    this.xs.length = 0;
    this.ys.length = 0;
    this.lastValue = Number.NaN;
    this.schedule();
  }

  get lastIteration(): number {
    return this.xs.length === 0 ? -1 : this.xs[this.xs.length - 1];
  }

  get length(): number {
    return this.xs.length;
  }

  /** Points at iterations past the last one (replayed events may repeat what a backfill brought). */
  add(iteration: number, value: number | null): void {
    if (iteration <= this.lastIteration) return;
    this.xs.push(iteration);
    this.ys.push(log10(value));
    this.lastValue = value;
    this.schedule();
  }

  /** One redraw a frame, however many points came. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData([this.xs, this.ys]);
      // what is drawn, for a reader without eyes (the browser test)
      this.el.dataset.points = String(this.xs.length);
      this.el.dataset.last = String(this.lastValue);
    });
  }
}

/**
 * `ys` against `xs` as points, with y = x drawn under them: points on the line are a perfect match.
 * Without `xs`, `ys` is drawn against its index.
 */
export function scatter(
  el: HTMLElement,
  xLabel: string,
  yLabel: string,
  ys: readonly (number | null)[],
  xs?: readonly number[],
): void {
  const order = ys.map((_, i) => i);
  if (xs) order.sort((i, j) => xs[i] - xs[j]);
  const px = order.map((i) => (xs ? xs[i] : i));
  const py = order.map((i) => ys[i]);
  const series: uPlot.Series[] = [
    { label: xLabel },
    { label: yLabel, stroke: INK, fill: INK, paths: () => null, points: { show: true, size: 5, fill: INK } },
  ];
  const data: uPlot.AlignedData = [px, py];
  if (xs) {
    series.push({ label: 'y = x', stroke: GUIDE, width: 1, dash: [4, 4], points: { show: false } });
    data.push(px);
  }
  mount(
    el,
    {
      scales: { x: { time: false } },
      axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
      series,
      cursor: { drag: { x: false, y: false } },
    },
    data,
  );
}
