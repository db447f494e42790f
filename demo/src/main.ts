/**
 * The palette demo: wiring between the page, the model (model.ts) and the training loop.
 *
 * The loop runs on requestAnimationFrame. Each frame records a few optimisation steps inside
 * pg.tidy, draws the views with pg.toCanvas, and starts one readback of that frame's loss terms and
 * palette; the page never waits for it. At most MAX_IN_FLIGHT readbacks are pending, which keeps
 * the CPU from queueing work faster than the GPU finishes it.
 */
import { byId, download, el, formatBytes, hexToRgb, luminance, pngOf, type Rgb, rgbToHex } from './dom.ts';
import { decodeFile, fetchImage, type ImageSource, InputError, toImageData } from './input.ts';
import { K_MAX, K_MIN, type Lambdas, type OptimizerKind, PaletteModel } from './model.ts';
import * as pg from 'pixelgrad';
import { LossPlot } from './plot.ts';
import { SAMPLES } from './samples.ts';

const MAX_IN_FLIGHT = 2;
/** While training, weight maps are redrawn every this many frames (they cost K draws). */
const WEIGHT_MAP_EVERY = 8;

// ---------- settings (URL parameters override the defaults: ?sample=dune&size=128&k=4&autostart=0) ----------

const query = new URLSearchParams(location.search);
const intParam = (name: string, fallback: number, lo: number, hi: number) => {
  const v = Number(query.get(name));
  return query.has(name) && Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
};
const numParam = (name: string, fallback: number) => {
  const v = Number(query.get(name));
  return query.has(name) && Number.isFinite(v) && v >= 0 ? v : fallback;
};

const settings = {
  k: intParam('k', 6, K_MIN, K_MAX),
  seed: intParam('seed', 1, 0, 2 ** 31 - 1),
  lr: numParam('lr', 0.05),
  optimizer: (query.get('optimizer') === 'sgd' ? 'sgd' : 'adam') as OptimizerKind,
  sparsity: numParam('sparsity', 0.001),
  smoothness: numParam('smoothness', 0),
  stepsPerFrame: intParam('spf', 2, 1, 8),
  maxSide: intParam('size', 512, 8, 2048),
};

// ---------- page elements ----------

const ui = {
  app: byId('app'),
  adapter: byId('adapter'),
  fallback: byId('fallback'),
  banner: byId('banner'),
  bannerText: byId('banner-text'),
  bannerAction: byId<HTMLButtonElement>('banner-action'),
  message: byId('message'),
  messageText: byId('message-text'),
  samples: byId('samples'),
  dropzone: byId('dropzone'),
  file: byId<HTMLInputElement>('file'),
  size: byId<HTMLSelectElement>('size'),
  photoInfo: byId('photo-info'),
  k: byId<HTMLInputElement>('k'),
  optimizer: byId<HTMLSelectElement>('optimizer'),
  lr: byId<HTMLInputElement>('lr'),
  sparsity: byId<HTMLInputElement>('sparsity'),
  smoothness: byId<HTMLInputElement>('smoothness'),
  seed: byId<HTMLInputElement>('seed'),
  spf: byId<HTMLInputElement>('spf'),
  start: byId<HTMLButtonElement>('start'),
  step: byId<HTMLButtonElement>('step'),
  reset: byId<HTMLButtonElement>('reset'),
  resetColours: byId<HTMLButtonElement>('reset-colours'),
  swatches: byId('swatches'),
  weightmaps: byId('weightmaps'),
  photo: byId<HTMLCanvasElement>('view-photo'),
  recon: byId<HTMLCanvasElement>('view-recon'),
  error: byId<HTMLCanvasElement>('view-error'),
  recolor: byId<HTMLCanvasElement>('view-recolor'),
  importPalette: byId<HTMLInputElement>('import-palette'),
};

// ---------- state ----------

interface Photo {
  readonly name: string;
  /** The decoded original, kept so a new size can be chosen without decoding again. */
  readonly source: ImageSource;
  readonly pixels: ImageData;
}

interface History {
  total: number[];
  mse: number[];
  sparsity: number[];
  smoothness: number[];
}

let model: PaletteModel | null = null;
let photo: Photo | null = null;
let running = false;
/** Bumped by every rebuild, so readbacks that finish afterwards are ignored. */
let generation = 0;
let stepsDone = 0;
let lastLoss: number | null = null;
let history: History = { total: [], mse: [], sparsity: [], smoothness: [] };
let learned: number[][] = [];
let coverage: number[] = [];
let overrides: (Rgb | null)[] = [];
let dispatchesPerStep = 0;
let frame = 0;
let viewsDirty = false;
let weightsDirty = false;
let failed = false;
const pending = new Set<Promise<void>>();
const throughput: { t: number; step: number }[] = [];
let plot: LossPlot | null = null;
let swatchInputs: HTMLInputElement[] = [];
let weightCanvases: HTMLCanvasElement[] = [];
let weightLabels: HTMLElement[] = [];

const lambdas = (): Lambdas => ({ sparsity: settings.sparsity, smoothness: settings.smoothness });

// ---------- messages ----------

let messageTimer = 0;

/** A message in the page (errors stay until dismissed; notes fade after a few seconds). */
function say(text: string, kind: 'error' | 'note' = 'error'): void {
  ui.messageText.textContent = text;
  ui.message.dataset.kind = kind;
  ui.message.hidden = false;
  clearTimeout(messageTimer);
  if (kind === 'note') messageTimer = window.setTimeout(() => (ui.message.hidden = true), 6000);
}

function clearMessage(): void {
  ui.message.hidden = true;
  ui.messageText.textContent = '';
}

function banner(text: string, action?: { label: string; run: () => void }): void {
  ui.bannerText.textContent = text;
  ui.banner.hidden = false;
  ui.bannerAction.hidden = !action;
  if (action) {
    ui.bannerAction.textContent = action.label;
    ui.bannerAction.onclick = action.run;
  }
}

function showFallback(e: unknown): void {
  running = false;
  ui.app.hidden = true;
  ui.banner.hidden = true;
  ui.fallback.hidden = false;
  ui.adapter.textContent = 'no WebGPU';
  ui.adapter.dataset.kind = 'error';
  const reason = e instanceof pg.WebGPUUnavailableError ? e.reason : 'error';
  byId('fallback-reason').textContent =
    {
      'no-navigator-gpu': 'This browser has no WebGPU at all (navigator.gpu is undefined).',
      'no-adapter': 'This browser knows WebGPU, but found no GPU adapter to run it on (it may be switched off by a flag or a blocklisted driver).',
      'no-device': 'A WebGPU adapter was found, but it refused to create a device.',
      error: 'WebGPU could not be started.',
    }[reason] ?? 'WebGPU could not be started.';
  byId('fallback-detail').textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// ---------- model lifecycle ----------

/** A new model for the current photo and settings; training history starts again. */
function rebuild(): void {
  if (!photo) return;
  generation++;
  model?.dispose();
  model = null;
  stepsDone = 0;
  lastLoss = null;
  history = { total: [], mse: [], sparsity: [], smoothness: [] };
  throughput.length = 0;
  dispatchesPerStep = 0;
  coverage = [];
  try {
    model = new PaletteModel(photo.pixels, settings);
  } catch (e) {
    running = false;
    updateRunButton();
    fail(e, 'Could not set up the model');
    return;
  }
  if (overrides.length !== settings.k) overrides = Array.from({ length: settings.k }, () => null);
  learned = [];
  buildPaletteUi();
  plot?.clear();
  for (const c of [ui.photo, ui.recon, ui.error, ui.recolor, ...weightCanvases]) {
    c.width = model.width;
    c.height = model.height;
  }
  // The palette before any step: read once so the swatches show the starting colours.
  const gen = generation;
  const p = model.palette();
  void p
    .data()
    .then(
      (v) => {
        if (gen === generation && stepsDone === 0) {
          learned = chunk(v, 3);
          updateSwatches();
        }
      },
      () => {},
    )
    .finally(() => p.dispose());
  pg.toCanvas(model.photoTensor(), ui.photo);
  viewsDirty = true;
  weightsDirty = true;
}

async function setPhoto(source: ImageSource, name: string): Promise<void> {
  const pixels = toImageData(source, settings.maxSide);
  photo = { name, source, pixels };
  ui.photoInfo.textContent = `${name}: ${pixels.width}×${pixels.height} px`;
  const wasRunning = running;
  rebuild();
  if (wasRunning && model) start();
}

async function loadFile(file: File): Promise<void> {
  try {
    const image = await decodeFile(file);
    await setPhoto(image, file.name);
    clearMessage();
    markSample('');
  } catch (e) {
    fail(e, `Could not use “${file.name}”`);
  }
}

async function loadSample(id: string): Promise<void> {
  const sample = SAMPLES.find((s) => s.id === id) ?? SAMPLES[0]!;
  try {
    const image = await fetchImage(sample.url, `${sample.id}.jpg`);
    await setPhoto(image, sample.title);
    markSample(sample.id);
  } catch (e) {
    fail(e, `Could not load the sample “${sample.title}”`);
  }
}

function markSample(id: string): void {
  for (const b of ui.samples.querySelectorAll<HTMLElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.id === id));
}

// ---------- training ----------

function start(): void {
  if (!model || failed) return;
  running = true;
  updateRunButton();
}

function pause(): void {
  running = false;
  updateRunButton();
  weightsDirty = true;
  viewsDirty = true;
}

function updateRunButton(): void {
  ui.start.textContent = running ? 'Pause' : stepsDone > 0 ? 'Resume' : 'Start';
  ui.start.classList.toggle('running', running);
}

/** Records `count` steps and starts one readback of their loss terms, the palette and the colour coverage. */
function runChunk(count: number): void {
  const m = model;
  if (!m) return;
  const gen = generation;
  const lam = lambdas();
  const first = stepsDone + 1;
  const d0 = pg.memory().dispatches;
  let d1 = d0;
  const packed = pg.tidy(() => {
    const parts: pg.Tensor[] = [];
    for (let i = 0; i < count; i++) {
      const t = m.step(lam);
      parts.push(t.mse, t.sparsity, t.smoothness);
    }
    d1 = pg.memory().dispatches;
    parts.push(m.palette(), m.weights().mean([0, 1]));
    // One vector, one readback per frame.
    return pg.cat(parts.map((p) => p.reshape([p.size])));
  });
  stepsDone += count;
  dispatchesPerStep = (d1 - d0) / count;
  const read: Promise<void> = packed
    .data()
    .then(
      (v) => {
        if (gen === generation) record(first, count, lam, m.k, v);
      },
      (e) => {
        if (gen === generation) fail(e, 'Reading the loss back failed');
      },
    )
    .finally(() => {
      packed.dispose();
      pending.delete(read);
    });
  pending.add(read);
  viewsDirty = true;
}

function record(first: number, count: number, lam: Lambdas, k: number, v: Float32Array): void {
  for (let i = 0; i < count; i++) {
    const mse = v[3 * i]!;
    const sp = lam.sparsity > 0 ? lam.sparsity * v[3 * i + 1]! : 0;
    const sm = lam.smoothness > 0 ? lam.smoothness * v[3 * i + 2]! : 0;
    const s = first + i;
    history.total[s - 1] = mse + sp + sm;
    history.mse[s - 1] = mse;
    history.sparsity[s - 1] = sp;
    history.smoothness[s - 1] = sm;
    plot?.add(s, { total: mse + sp + sm, mse, sparsity: sp, smoothness: sm });
  }
  const last = first + count - 1;
  lastLoss = history.total[last - 1] ?? null;
  learned = chunk(v.subarray(3 * count, 3 * count + 3 * k), 3);
  coverage = Array.from(v.subarray(3 * count + 3 * k, 3 * count + 4 * k));
  updateSwatches();
  const now = performance.now();
  throughput.push({ t: now, step: last });
  while (throughput.length > 2 && now - throughput[0]!.t > 2000) throughput.shift();
  if (lastLoss !== null && !Number.isFinite(lastLoss)) {
    pause();
    say('The loss became NaN or infinite: the learning rate is too high for this optimizer. Lower it and press Reset.');
  }
}

const chunk = (v: ArrayLike<number>, n: number): number[][] => Array.from({ length: Math.floor(v.length / n) }, (_, i) => Array.from({ length: n }, (_, j) => v[i * n + j]!));

async function settled(): Promise<void> {
  while (pending.size) await Promise.allSettled([...pending]);
}

/** Runs n more steps (paused, for tests and the Step button), then waits for their losses. */
async function runSteps(n: number): Promise<void> {
  pause();
  let left = n;
  while (left > 0 && model && !failed) {
    if (pending.size >= MAX_IN_FLIGHT) await Promise.race(pending);
    const c = Math.min(settings.stepsPerFrame, left);
    runChunk(c);
    left -= c;
  }
  await settled();
  updateRunButton();
  draw(true);
}

// ---------- drawing ----------

/** The edited palette as tensors: overrides [K, 3] and a mask [K, 1] that is 1 where a colour was edited. */
function recolorPalette(m: PaletteModel): pg.Tensor | null {
  if (!overrides.some(Boolean)) return null;
  const values = overrides.flatMap((c) => (c ? [...c] : [0, 0, 0]));
  const mask = overrides.map((c) => (c ? 1 : 0));
  return m.editedPalette(pg.tensor(values, { shape: [m.k, 3] }), pg.tensor(mask, { shape: [m.k, 1] }));
}

function draw(withWeights: boolean): void {
  const m = model;
  if (!m) return;
  pg.tidy(() => {
    const weights = m.weights();
    const recon = pg.colorMix(weights, m.palette());
    pg.toCanvas(recon, ui.recon);
    pg.toCanvas(m.errorMap(recon), ui.error);
    const edited = recolorPalette(m);
    pg.toCanvas(edited ? pg.colorMix(weights, edited) : recon, ui.recolor);
    if (withWeights) {
      weightCanvases.forEach((c, k) => {
        pg.toCanvas(m.weightMap(weights, k), c);
      });
    }
  });
  viewsDirty = false;
  if (withWeights) weightsDirty = false;
}

function tick(): void {
  requestAnimationFrame(tick);
  if (!model || failed) return;
  try {
    pg.backend()?.assertUsable('demo');
    if (running && pending.size < MAX_IN_FLIGHT) runChunk(settings.stepsPerFrame);
    if (viewsDirty || weightsDirty) {
      frame++;
      draw(weightsDirty || !running || frame % WEIGHT_MAP_EVERY === 0);
    }
    plot?.draw();
    if (frame % 10 === 0 || !running) updateReadouts();
  } catch (e) {
    fail(e, 'Training stopped');
  }
}

// ---------- failures ----------

function isDeviceLost(e: unknown): boolean {
  if (e instanceof pg.DeviceLostError) return true;
  try {
    pg.backend()?.assertUsable('demo');
    return false;
  } catch {
    return true;
  }
}

/** Shows what went wrong and keeps the page usable. */
function fail(e: unknown, context: string): void {
  if (e instanceof InputError) {
    say(e.message);
    return;
  }
  if (isDeviceLost(e)) {
    failed = true;
    running = false;
    updateRunButton();
    const reason = e instanceof pg.DeviceLostError ? e.reason : 'unknown';
    ui.adapter.dataset.kind = 'error';
    banner(
      `The GPU device was lost (${reason}), so training stopped and every tensor on it is gone. This happens when the GPU driver resets or the browser reclaims the GPU. Restart to get a new device and train again.`,
      { label: 'Restart', run: () => void restart() },
    );
    return;
  }
  if (e instanceof pg.WebGPUUnavailableError) {
    showFallback(e);
    return;
  }
  running = false;
  updateRunButton();
  const detail = e instanceof Error ? e.message : String(e);
  say(`${context}: ${detail}`);
  if (!(e instanceof pg.PixelgradError)) console.error(e);
}

async function restart(): Promise<void> {
  try {
    const be = await pg.init();
    showAdapter(be);
    failed = false;
    ui.banner.hidden = true;
    rebuild();
    start();
  } catch (e) {
    if (e instanceof pg.WebGPUUnavailableError) showFallback(e);
    else banner(`Could not get a new GPU device: ${e instanceof Error ? e.message : String(e)}. Reload the page to try again.`);
  }
}

// ---------- palette, weight maps, readouts ----------

function buildPaletteUi(): void {
  const k = settings.k;
  swatchInputs = [];
  ui.swatches.replaceChildren(
    ...Array.from({ length: k }, (_, i) => {
      const input = el('input', { type: 'color', 'aria-label': `Colour ${i + 1}: click to change it`, 'data-index': String(i) });
      input.addEventListener('input', () => editColour(i, input.value));
      swatchInputs.push(input);
      const undo = el('button', { type: 'button', class: 'undo', title: 'Back to the learned colour', 'aria-label': `Undo the edit of colour ${i + 1}` }, '↺');
      undo.addEventListener('click', () => editColour(i, null));
      return el('div', { class: 'swatch' }, input, el('span', { class: 'hex' }, '…'), el('span', { class: 'learned', title: 'learned colour' }), undo);
    }),
  );
  weightCanvases = [];
  weightLabels = [];
  ui.weightmaps.replaceChildren(
    ...Array.from({ length: k }, (_, i) => {
      const c = el('canvas', { width: String(model?.width ?? 4), height: String(model?.height ?? 4), title: `Save layer ${i + 1} as an RGBA PNG` });
      c.addEventListener('click', () => void exportLayer(i));
      weightCanvases.push(c);
      const label = el('span', { class: 'chip' });
      weightLabels.push(label);
      return el('figure', {}, c, el('figcaption', {}, label, el('span', {}, `${i + 1}`), el('span', { class: 'cov' })));
    }),
  );
  updateSwatches();
}

function editColour(i: number, hex: string | null): void {
  overrides[i] = hex ? hexToRgb(hex) : null;
  updateSwatches();
  if (!model) return;
  try {
    draw(false);
  } catch (e) {
    fail(e, 'Recolouring failed');
  }
}

function updateSwatches(): void {
  swatchInputs.forEach((input, i) => {
    const box = input.parentElement!;
    const own = learned[i];
    const shown = overrides[i] ?? own;
    const hex = shown ? rgbToHex(shown) : '#000000';
    if (document.activeElement !== input && input.value !== hex) input.value = hex;
    box.querySelector('.hex')!.textContent = shown ? hex : '…';
    box.classList.toggle('edited', Boolean(overrides[i]));
    (box.querySelector('.learned') as HTMLElement).style.background = own ? rgbToHex(own) : 'transparent';
    const chip = weightLabels[i];
    if (chip) {
      chip.style.background = own ? rgbToHex(own) : 'transparent';
      chip.style.color = own && luminance(own) > 0.5 ? '#000' : '#fff';
    }
    const cov = chip?.parentElement?.querySelector('.cov');
    if (cov) cov.textContent = coverage[i] !== undefined ? `${(coverage[i]! * 100).toFixed(0)}%` : '';
  });
  ui.resetColours.disabled = !overrides.some(Boolean);
}

function showAdapter(be: pg.Backend): void {
  ui.adapter.textContent = be.isSoftware ? `${be.adapterName} · software renderer: expect CPU speed` : be.adapterName;
  ui.adapter.dataset.kind = be.isSoftware ? 'software' : 'ok';
  ui.adapter.title = be.isSoftware
    ? 'This WebGPU adapter runs shaders on the CPU (e.g. SwiftShader), so training is slow. A browser with hardware WebGPU is much faster.'
    : 'The WebGPU adapter running the demo';
}

function updateReadouts(): void {
  const mem = pg.memory();
  const set = (id: string, text: string) => {
    const e = document.getElementById(id);
    if (e && e.textContent !== text) e.textContent = text;
  };
  set('r-step', String(stepsDone));
  set('r-loss', lastLoss === null ? '–' : lastLoss.toExponential(3));
  const a = throughput[0];
  const b = throughput.at(-1);
  const sps = running && a && b && b.t > a.t ? ((b.step - a.step) * 1000) / (b.t - a.t) : 0;
  set('r-sps', sps > 0 ? sps.toFixed(1) : running ? '…' : 'paused');
  set('r-ms', sps > 0 ? (1000 / sps).toFixed(1) : '–');
  set('r-disp', dispatchesPerStep ? dispatchesPerStep.toFixed(0) : '–');
  set('r-tensors', String(mem.liveTensors));
  set('r-bytes', formatBytes(mem.bytesInUse));
  set('r-pooled', formatBytes(mem.bytesPooled));
}

// ---------- export / import ----------

async function exportPng(make: (m: PaletteModel) => pg.Tensor, filename: string): Promise<void> {
  const m = model;
  if (!m) return;
  const t = pg.tidy(() => make(m));
  try {
    const img = await pg.toImageData(t);
    download(await pngOf([img]), filename);
  } catch (e) {
    fail(e, `Could not export ${filename}`);
  } finally {
    t.dispose();
  }
}

async function exportLayer(k: number): Promise<void> {
  const colour = overrides[k] ?? learned[k];
  if (!colour) return;
  await exportPng((m) => m.layer(m.weights(), k, colour), `layer-${k + 1}-${rgbToHex(colour).slice(1)}.png`);
}

async function exportLayers(): Promise<void> {
  const m = model;
  if (!m || learned.length !== m.k) return;
  const tensors = pg.tidy(() => {
    const w = m.weights();
    return learned.map((c, k) => m.layer(w, k, overrides[k] ?? c));
  });
  try {
    const images = await Promise.all(tensors.map((t) => pg.toImageData(t)));
    download(await pngOf(images, Math.min(4, images.length), 8), `layers-k${m.k}.png`);
  } catch (e) {
    fail(e, 'Could not export the layers');
  } finally {
    pg.dispose(tensors);
  }
}

function exportPalette(): void {
  const json = {
    generator: 'pixelgrad palette demo',
    image: photo?.name ?? null,
    size: model ? [model.width, model.height] : null,
    step: stepsDone,
    loss: lastLoss,
    k: settings.k,
    palette: learned.map((c) => rgbToHex(c)),
    edited: overrides.map((c, i) => rgbToHex(c ?? learned[i] ?? [0, 0, 0])),
    rgb: learned.map((c) => c.map((v) => Number(v.toFixed(5)))),
  };
  download(new Blob([`${JSON.stringify(json, null, 2)}\n`], { type: 'application/json' }), `palette-k${settings.k}.json`);
}

/** Reads a palette JSON (ours, or a plain list of hex strings / [r, g, b] triples) and recolours with it. */
async function importPalette(file: File): Promise<void> {
  let colours: Rgb[];
  try {
    const data: unknown = JSON.parse(await file.text());
    const list = Array.isArray(data) ? data : ((data as { edited?: unknown; palette?: unknown })?.edited ?? (data as { palette?: unknown })?.palette);
    if (!Array.isArray(list)) throw new InputError(`“${file.name}” has no palette: expected a JSON list of colours, or an object with a "palette" list.`);
    colours = list.map((c, i) => {
      const rgb =
        typeof c === 'string'
          ? hexToRgb(c)
          : Array.isArray(c) && c.length === 3 && c.every((v) => typeof v === 'number' && v >= 0 && v <= 1)
            ? ([c[0], c[1], c[2]] as Rgb)
            : null;
      if (!rgb) throw new InputError(`“${file.name}”: colour ${i + 1} (${JSON.stringify(c)}) is neither "#rrggbb" nor [r, g, b] with values in 0–1.`);
      return rgb;
    });
  } catch (e) {
    fail(e instanceof SyntaxError ? new InputError(`“${file.name}” is not valid JSON (${e.message}).`) : e, 'Could not import the palette');
    return;
  }
  if (colours.length !== settings.k) {
    say(`“${file.name}” has ${colours.length} colours but the model has K = ${settings.k}. Set K to ${colours.length} (and train) before importing it, or import a palette with ${settings.k} colours.`);
    return;
  }
  overrides = colours;
  updateSwatches();
  draw(false);
  say(`Recoloured with the ${colours.length} colours from “${file.name}”.`, 'note');
}

// ---------- controls ----------

function bindControls(): void {
  ui.samples.replaceChildren(
    ...SAMPLES.map((s) => {
      const b = el('button', { type: 'button', class: 'sample', 'data-id': s.id, title: `${s.title} (${s.credit})`, 'aria-pressed': 'false' }, el('img', { src: s.url, alt: '' }), el('span', { class: 'name' }, s.title));
      b.addEventListener('click', () => void loadSample(s.id));
      return b;
    }),
  );

  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) void loadFile(f);
    ui.file.value = '';
  });
  const over = (on: boolean) => (e: DragEvent) => {
    e.preventDefault();
    ui.dropzone.classList.toggle('over', on);
  };
  window.addEventListener('dragover', over(true));
  window.addEventListener('dragleave', over(false));
  window.addEventListener('drop', (e) => {
    over(false)(e);
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length === 0) {
      say('Nothing to use in what was dropped: drop an image file (JPEG, PNG, WebP…).');
      return;
    }
    void loadFile(files.find((f) => f.type.startsWith('image/')) ?? files[0]!);
  });
  window.addEventListener('paste', (e) => {
    const f = [...(e.clipboardData?.files ?? [])].find((x) => x.type.startsWith('image/'));
    if (f) void loadFile(f);
  });

  if (![...ui.size.options].some((o) => Number(o.value) === settings.maxSide)) {
    ui.size.prepend(el('option', { value: String(settings.maxSide) }, `${settings.maxSide} px`));
  }
  ui.size.value = String(settings.maxSide);
  ui.size.addEventListener('change', () => {
    settings.maxSide = Number(ui.size.value);
    if (photo) void setPhoto(photo.source, photo.name).catch((e) => fail(e, 'Could not resize the photo'));
  });

  ui.k.value = String(settings.k);
  ui.k.addEventListener('change', () => {
    const v = Number(ui.k.value);
    if (!Number.isInteger(v) || v < K_MIN || v > K_MAX) {
      say(`K must be a whole number from ${K_MIN} to ${K_MAX}; “${ui.k.value}” is not. K stays ${settings.k}.`);
      ui.k.value = String(settings.k);
      return;
    }
    clearMessage();
    settings.k = v;
    overrides = [];
    const wasRunning = running;
    rebuild();
    if (wasRunning) start();
  });

  ui.optimizer.value = settings.optimizer;
  ui.optimizer.addEventListener('change', () => {
    settings.optimizer = ui.optimizer.value === 'sgd' ? 'sgd' : 'adam';
    try {
      model?.switchOptimizer(settings.optimizer, settings.lr);
    } catch (e) {
      fail(e, 'Could not switch the optimizer');
    }
  });

  const lrOut = byId('lr-out');
  ui.lr.value = String(Math.log10(settings.lr || 1e-3));
  const setLr = () => {
    settings.lr = Number((10 ** Number(ui.lr.value)).toPrecision(2));
    lrOut.textContent = String(settings.lr);
    if (model) model.lr = settings.lr;
  };
  ui.lr.addEventListener('input', setLr);
  setLr();

  const slider = (input: HTMLInputElement, out: string, key: 'sparsity' | 'smoothness') => {
    const o = byId(out);
    input.value = String(settings[key]);
    const update = () => {
      settings[key] = Number(input.value);
      o.textContent = settings[key] === 0 ? 'off' : String(settings[key]);
    };
    input.addEventListener('input', update);
    update();
  };
  slider(ui.sparsity, 'sparsity-out', 'sparsity');
  slider(ui.smoothness, 'smoothness-out', 'smoothness');

  const spfOut = byId('spf-out');
  ui.spf.value = String(settings.stepsPerFrame);
  const setSpf = () => {
    settings.stepsPerFrame = Number(ui.spf.value);
    spfOut.textContent = ui.spf.value;
  };
  ui.spf.addEventListener('input', setSpf);
  setSpf();

  ui.seed.value = String(settings.seed);
  ui.seed.addEventListener('change', () => {
    const v = Number(ui.seed.value);
    if (!Number.isInteger(v) || v < 0) {
      say(`The seed must be a whole number ≥ 0; “${ui.seed.value}” is not.`);
      ui.seed.value = String(settings.seed);
      return;
    }
    settings.seed = v;
    rebuild();
  });

  ui.start.addEventListener('click', () => (running ? pause() : start()));
  ui.step.addEventListener('click', () => void runSteps(1));
  ui.reset.addEventListener('click', () => {
    const wasRunning = running;
    rebuild();
    if (wasRunning) start();
    updateRunButton();
  });
  ui.resetColours.addEventListener('click', () => {
    overrides = overrides.map(() => null);
    updateSwatches();
    draw(false);
  });
  byId('message-close').addEventListener('click', clearMessage);

  byId('export-palette').addEventListener('click', exportPalette);
  byId('export-recon').addEventListener('click', () => void exportPng((m) => m.reconstruction(), 'reconstruction.png'));
  byId('export-recolor').addEventListener('click', () => void exportPng((m) => pg.colorMix(m.weights(), recolorPalette(m) ?? m.palette()), 'recoloured.png'));
  byId('export-layers').addEventListener('click', () => void exportLayers());
  ui.importPalette.addEventListener('change', () => {
    const f = ui.importPalette.files?.[0];
    if (f) void importPalette(f);
    ui.importPalette.value = '';
  });
}

// ---------- test hooks ----------

const hooks = {
  /** 'starting' | 'ready' | 'no-webgpu' | 'device-lost' */
  get status(): string {
    if (!ui.fallback.hidden) return 'no-webgpu';
    if (failed) return 'device-lost';
    return model ? 'ready' : 'starting';
  },
  get step(): number {
    return stepsDone;
  },
  get loss(): number | null {
    return lastLoss;
  },
  get running(): boolean {
    return running;
  },
  get k(): number {
    return settings.k;
  },
  /** The total loss computed at step s (1-based), once its readback finished. */
  lossAt: (s: number): number | undefined => history.total[s - 1],
  memory: () => pg.memory(),
  /** The learned palette as [r, g, b] in [0, 1], from the latest readback. */
  palette: () => learned.map((c) => [...c]),
  adapter: () => {
    const be = pg.backend();
    return be ? { name: be.adapterName, isSoftware: be.isSoftware } : null;
  },
  size: () => (model ? [model.width, model.height] : null),
  message: () => (ui.message.hidden ? '' : (ui.messageText.textContent ?? '')),
  start,
  pause,
  runSteps,
  settled,
  reset: () => rebuild(),
  loadSample,
  /** Loads any image source (e.g. a 0×0 canvas), as a dropped file would be. */
  loadImage: async (source: ImageSource, name = 'image') => {
    try {
      await setPhoto(source, name);
      clearMessage();
    } catch (e) {
      fail(e, `Could not use ${name}`);
    }
  },
  /** Mean colour of the recoloured view (edited palette), read from the GPU. */
  recoloredMean: async (): Promise<number[]> => {
    const m = model;
    if (!m) return [];
    const t = pg.tidy(() => pg.colorMix(m.weights(), recolorPalette(m) ?? m.palette()).mean([0, 1]));
    try {
      return Array.from(await t.data());
    } finally {
      t.dispose();
    }
  },
  /** Destroys the GPU device, to exercise the device-lost banner. */
  loseDevice: () => pg.backend()?.destroy(),
};

declare global {
  interface Window {
    __pixelgrad: typeof hooks;
  }
}

// ---------- boot ----------

async function boot(): Promise<void> {
  window.__pixelgrad = hooks;
  let be: pg.Backend;
  try {
    be = await pg.init();
  } catch (e) {
    showFallback(e);
    return;
  }
  showAdapter(be);
  ui.app.hidden = false;
  plot = new LossPlot(byId('plot'));
  bindControls();
  requestAnimationFrame(tick);
  await loadSample(query.get('sample') ?? SAMPLES[0]!.id);
  if (query.get('autostart') !== '0') start();
}

void boot();
