/** The loss curve: total and each term's contribution, on a log y scale, redrawn a few times a second. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LossRecord {
  readonly total: number;
  readonly mse: number;
  /** lambda * term, i.e. what the term adds to the total. */
  readonly sparsity: number;
  readonly smoothness: number;
}

const COLORS = { total: '#f4f4f5', mse: '#60a5fa', sparsity: '#f59e0b', smoothness: '#34d399' };

/** Loss <= 0 (a term switched off) has no place on a log axis: leave a gap. */
const positive = (v: number): number | null => (v > 0 && Number.isFinite(v) ? v : null);

export class LossPlot {
  private readonly plot: uPlot;
  private readonly x: number[] = [];
  private readonly series: (number | null)[][] = [[], [], [], []];
  private dirty = false;
  private lastDraw = 0;
  /** The last step on the drawn chart (0 when empty). */
  drawnStep = 0;

  constructor(private readonly host: HTMLElement) {
    const axis: uPlot.Axis = { stroke: '#a1a1aa', grid: { stroke: '#27272a', width: 1 }, ticks: { stroke: '#3f3f46', width: 1 } };
    this.plot = new uPlot(
      {
        width: Math.max(240, host.clientWidth),
        height: 220,
        legend: { live: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: false }, y: { distr: 3 } },
        axes: [
          { ...axis, label: 'step', labelSize: 20 },
          { ...axis, size: 56, values: (_u, ticks) => ticks.map((t) => (t == null ? '' : t.toExponential(0))) },
        ],
        series: [
          { label: 'step' },
          { label: 'total', stroke: COLORS.total, width: 2, points: { show: false } },
          { label: 'mse', stroke: COLORS.mse, width: 1.5, points: { show: false } },
          { label: 'λ·sparsity', stroke: COLORS.sparsity, width: 1.5, points: { show: false } },
          { label: 'λ·smoothness', stroke: COLORS.smoothness, width: 1.5, points: { show: false } },
        ],
      },
      [[], [], [], [], []],
      host,
    );
    // The host is the labelled image (role="img"); uPlot's own canvas says nothing more.
    for (const c of host.querySelectorAll('canvas')) c.setAttribute('aria-hidden', 'true');
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(240, host.clientWidth), height: 220 })).observe(host);
  }

  add(step: number, r: LossRecord): void {
    this.x.push(step);
    this.series[0]!.push(positive(r.total));
    this.series[1]!.push(positive(r.mse));
    this.series[2]!.push(positive(r.sparsity));
    this.series[3]!.push(positive(r.smoothness));
    this.dirty = true;
  }

  clear(): void {
    this.x.length = 0;
    for (const s of this.series) s.length = 0;
    this.dirty = true;
    this.draw(true);
  }

  /** Redraws at most ~5 times a second unless forced (the demo forces it every frame that has new steps). */
  draw(force = false): void {
    const now = performance.now();
    if (!this.dirty || (!force && now - this.lastDraw < 200)) return;
    this.lastDraw = now;
    this.dirty = false;
    this.plot.setData([this.x, ...this.series] as uPlot.AlignedData);
    this.drawnStep = this.x.at(-1) ?? 0;
  }

  get element(): HTMLElement {
    return this.host;
  }
}
