/**
 * The two-ingredient example: loss = (0.6·c1 + 0.4·c2 − 0.5)², with c1 = 0.2 and c2 = 0.7, gives
 * ∂loss/∂c1 = −0.12 and ∂loss/∂c2 = −0.08. Runs on WebGPU, or on the CPU reference backend when
 * this browser has no WebGPU.
 */
import { byId } from './dom.ts';
import * as pg from 'pixelgrad';

const LR = 0.5;
let c: [number, number] = [0.2, 0.7];

const grey = (v: number) => {
  const b = Math.round(Math.min(1, Math.max(0, v)) * 255);
  return `rgb(${b}, ${b}, ${b})`;
};

/**
 * A number for reading: `digits` decimals, or scientific notation once that would hide it
 * (a few steps in, the gradients are 1e-3 and below and toFixed(2) shows -0.00).
 */
function readable(v: number, digits: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  return Math.abs(v) < 0.5 * 10 ** -digits || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(digits);
}

/** Shows a number rounded for reading, with the float32 value underneath. */
function show(id: string, v: number, digits = 2): void {
  const e = byId(id);
  e.textContent = readable(v, digits);
  const small = document.createElement('small');
  small.textContent = `float32: ${v.toPrecision(7)}`;
  e.append(small);
}

interface Result {
  mix: number;
  loss: number;
  g1: number;
  g2: number;
}

async function evaluate([v1, v2]: [number, number]): Promise<Result> {
  const c1 = pg.tensor([v1], { requiresGrad: true });
  const c2 = pg.tensor([v2], { requiresGrad: true });
  const mix = c1.mul(0.6).add(c2.mul(0.4));
  const loss = mix.sub(0.5).pow(2);
  loss.backward();
  try {
    const [m, l, g1, g2] = await Promise.all([mix.item(), loss.item(), c1.grad!.item(), c2.grad!.item()]);
    return { mix: m, loss: l, g1, g2 };
  } finally {
    pg.dispose([c1, c2, mix, loss]);
  }
}

async function render(): Promise<Result> {
  const r = await evaluate(c);
  byId('v-c1').textContent = readable(c[0], 4);
  byId('v-c2').textContent = readable(c[1], 4);
  byId('v-mix').textContent = readable(r.mix, 4);
  byId('sw-c1').style.background = grey(c[0]);
  byId('sw-c2').style.background = grey(c[1]);
  byId('sw-mix').style.background = grey(r.mix);
  show('v-loss', r.loss, 4);
  show('grad-c1', r.g1);
  show('grad-c2', r.g2);
  return r;
}

async function main(): Promise<void> {
  const status = byId('seed-status');
  const adapter = byId('adapter');
  let be: pg.Backend;
  try {
    be = await pg.init();
    adapter.textContent = be.isSoftware ? `${be.adapterName} · software` : be.adapterName;
    adapter.dataset.kind = be.isSoftware ? 'software' : 'ok';
  } catch (e) {
    if (!(e instanceof pg.WebGPUUnavailableError)) throw e;
    be = await pg.init({ backend: 'cpu' });
    adapter.textContent = 'CPU reference backend (no WebGPU here)';
    adapter.dataset.kind = 'software';
  }
  await render();
  status.textContent = `Computed by pixelgrad on ${be.kind === 'cpu' ? 'the CPU reference backend, because this browser has no WebGPU' : `WebGPU (${be.adapterName})`}.`;
  document.body.dataset.ready = 'true';

  // One step at a time: the buttons are disabled while a step is on the GPU, so a fast double
  // click cannot apply a gradient computed for values that have already moved.
  const buttons = [byId<HTMLButtonElement>('descend'), byId<HTMLButtonElement>('again')];
  const busy = (fn: () => Promise<void>) => async () => {
    if (buttons.some((b) => b.disabled)) return;
    for (const b of buttons) b.disabled = true;
    document.body.dataset.busy = 'true';
    try {
      await fn();
    } finally {
      for (const b of buttons) b.disabled = false;
      delete document.body.dataset.busy;
    }
  };
  byId('descend').addEventListener(
    'click',
    busy(async () => {
      const r = await evaluate(c);
      c = [c[0] - LR * r.g1, c[1] - LR * r.g2];
      await render();
    }),
  );
  byId('again').addEventListener(
    'click',
    busy(async () => {
      c = [0.2, 0.7];
      await render();
    }),
  );
}

main().catch((e: unknown) => {
  byId('seed-status').textContent = `Could not run the example: ${e instanceof Error ? e.message : String(e)}`;
});
