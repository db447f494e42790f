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
import { DEFAULT_LR, K_MAX, K_MIN, type Lambdas, type OptimizerKind, PaletteModel } from './model.ts';
import * as pg from 'pixelgrad';
import { LossPlot } from './plot.ts';
import { SAMPLES } from './samples.ts';

const MAX_IN_FLIGHT = 2;
/** The long sides the size menu offers. */
const SIZES = [128, 256, 512, 768, 1024];
/** The long side on a hardware adapter and on a software one (SwiftShader: CPU speed), unless ?size= says otherwise. */
const DEFAULT_SIDE = { hardware: 512, software: 256 };
/**
 * Training counts as converged when the reconstruction error (mse) fell by less than this share
 * over the last CONVERGE_WINDOW steps, or went below CONVERGE_FLOOR (a fit as good as float32 gets).
 */
const CONVERGE_TOLERANCE = 0.002;
const CONVERGE_WINDOW = 100;
const CONVERGE_FLOOR = 1e-6;
/** While training, weight maps are redrawn every this many frames (they cost K draws). */
const WEIGHT_MAP_EVERY = 8;
/** How bright a pixel the pointed-at colour does not explain stays in the spotlight views (0 = black). */
const SPOT_FLOOR = 0.12;

// ---------- settings (URL parameters override the defaults: ?sample=dune&size=128&k=4&autostart=0) ----------

const query = new URLSearchParams(location.search);
/** What the URL asked for that could not be used as it was, said once the page is up. */
const urlNotices: string[] = [];

/** A URL number clamped into [lo, hi] (rounded when `integer`); a value that is not a number falls back. */
function numberParam(name: string, fallback: number, lo: number, hi: number, integer = false): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) {
    urlNotices.push(`${name}=${raw} is not a number, so ${name} is ${fallback}.`);
    return fallback;
  }
  const clamped = Math.min(hi, Math.max(lo, integer ? Math.round(v) : v));
  if (clamped !== v) urlNotices.push(`${name}=${raw} is outside ${lo}–${hi}${integer ? ' (whole numbers)' : ''}, so ${name} is ${clamped}.`);
  return clamped;
}

const LR_MIN = 1e-3;
const LR_MAX = 10;
const optimizerParam = query.get('optimizer');
if (optimizerParam !== null && optimizerParam !== 'adam' && optimizerParam !== 'sgd') urlNotices.push(`optimizer=${optimizerParam} is not adam or sgd, so it is Adam.`);
const errorParam = query.get('error');
if (errorParam !== null && errorParam !== 'lab' && errorParam !== 'rgb') urlNotices.push(`error=${errorParam} is not rgb or lab, so the colour error is sRGB.`);
const optimizer: OptimizerKind = optimizerParam === 'sgd' ? 'sgd' : 'adam';

/**
 * Settings fall in two kinds. Live ones (optimizer, learning rates, λs, steps per frame) change the
 * running fit at once. Restart ones (photo, size, K, seed, background) need a new model: changing
 * one says so and trains again from step 0, running if it was running.
 */
const settings = {
  k: numberParam('k', 6, K_MIN, K_MAX, true),
  seed: numberParam('seed', 1, 0, 2 ** 31 - 1, true),
  optimizer,
  /** Each optimizer keeps its own learning rate; SGD's default is one that visibly trains. */
  lr: { ...DEFAULT_LR, [optimizer]: numberParam('lr', DEFAULT_LR[optimizer], LR_MIN, LR_MAX) } as Record<OptimizerKind, number>,
  sparsity: numberParam('sparsity', 0.001, 0, 0.05),
  smoothness: numberParam('smoothness', 0, 0, 1),
  /** Colour error in CIE L*a*b* instead of sRGB. */
  perceptual: query.get('error') === 'lab',
  stepsPerFrame: numberParam('spf', 2, 1, 8, true),
  /** The requested long side; null until the adapter is known (then DEFAULT_SIDE). */
  maxSide: query.has('size') ? numberParam('size', 512, 8, 2048, true) : (null as number | null),
  keepGoing: query.get('keep') === '1',
  background: /^#[0-9a-f]{6}$/i.test(query.get('bg') ?? '') ? query.get('bg')!.toLowerCase() : '#ffffff',
};

/** The current settings in the URL (replaceState: shareable, no history entry per change). */
function recordUrl(): void {
  const q = new URLSearchParams();
  if (photo?.sample) q.set('sample', photo.sample);
  if (settings.maxSide !== null) q.set('size', String(settings.maxSide));
  q.set('k', String(settings.k));
  q.set('seed', String(settings.seed));
  q.set('optimizer', settings.optimizer);
  q.set('lr', String(settings.lr[settings.optimizer]));
  q.set('sparsity', String(settings.sparsity));
  q.set('smoothness', String(settings.smoothness));
  if (settings.perceptual) q.set('error', 'lab');
  q.set('spf', String(settings.stepsPerFrame));
  if (settings.keepGoing) q.set('keep', '1');
  if (settings.background !== '#ffffff') q.set('bg', settings.background);
  const autostart = query.get('autostart');
  if (autostart !== null) q.set('autostart', autostart);
  const url = `${location.pathname}?${q}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) window.history.replaceState(null, '', url);
}

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
  colourError: byId<HTMLSelectElement>('colour-error'),
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
  importButton: byId<HTMLButtonElement>('import-button'),
  notice: byId('notice'),
  noticeText: byId('notice-text'),
  runStep: byId('run-step'),
  runLoss: byId('run-loss'),
  converged: byId('converged'),
  helpButton: byId<HTMLButtonElement>('help-button'),
  help: byId('help'),
  compare: byId<HTMLInputElement>('compare'),
  before: byId<HTMLCanvasElement>('view-before'),
  background: byId<HTMLInputElement>('background'),
  keepGoing: byId<HTMLInputElement>('keep-going'),
  spotPhoto: byId<HTMLCanvasElement>('spot-photo'),
  spotRecon: byId<HTMLCanvasElement>('spot-recon'),
  zoom: byId<HTMLDialogElement>('zoom'),
  zoomTitle: byId('zoom-title'),
  zoomBody: byId('zoom-body'),
  zoomSave: byId<HTMLButtonElement>('zoom-save'),
  zoomClose: byId<HTMLButtonElement>('zoom-close'),
};

// ---------- state ----------

interface Photo {
  readonly name: string;
  /** The bundled sample's id, or null for the user's own photo. */
  readonly sample: string | null;
  /** The decoded original, kept so a new size can be chosen without decoding again. */
  readonly source: ImageSource;
  /** The original's long side: the largest size the menu offers (it never upscales). */
  readonly longSide: number;
  /** At the model's size, transparent pixels composited over the background; null before the adapter is known. */
  readonly pixels: ImageData | null;
  /** How many pixels were not opaque (and were composited). */
  readonly transparent: number;
}

interface LossHistory {
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
/** The last step whose loss was read back: the readouts and the chart both show this one. */
let stepsShown = 0;
/** Set when training paused itself at convergence, so Resume goes on without pausing again. */
let convergedAt: number | null = null;
let lastLoss: number | null = null;
let history: LossHistory = { total: [], mse: [], sparsity: [], smoothness: [] };
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
/** The colour whose pixels are lit up in the photo and the reconstruction (a swatch is pointed at or focused), or null. */
let spotlight: number | null = null;

/** A view that can be enlarged: one of the four, or weight map k. */
type ZoomView = { readonly kind: 'photo' | 'recon' | 'error' | 'recolor' } | { readonly kind: 'weight'; readonly k: number };
/** The enlarged view while the dialog is open, its canvas, and the element to give the focus back to. */
let zoomed: { readonly view: ZoomView; readonly canvas: HTMLCanvasElement; readonly opener: HTMLElement | null } | null = null;

const lambdas = (): Lambdas => ({ sparsity: settings.sparsity, smoothness: settings.smoothness, perceptual: settings.perceptual });

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

/** A notice that stays until dismissed (URL values that were clamped, transparent photos). */
function notify(text: string): void {
  ui.noticeText.textContent = text;
  ui.notice.hidden = false;
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

/**
 * A new model for the current photo and settings; training history starts again. `release`
 * gives the pool's buffers back to the GPU first (the photo, size or K changed, so the old sizes
 * will not be reused).
 */
function rebuild(release = false): void {
  if (!photo?.pixels || !pg.backend()) return;
  const pixels = photo.pixels;
  generation++;
  model?.dispose();
  model = null;
  if (release) pg.releasePooled();
  stepsDone = 0;
  stepsShown = 0;
  convergedAt = null;
  ui.converged.hidden = true;
  lastLoss = null;
  history = { total: [], mse: [], sparsity: [], smoothness: [] };
  throughput.length = 0;
  dispatchesPerStep = 0;
  coverage = [];
  try {
    model = new PaletteModel(pixels, { k: settings.k, seed: settings.seed, optimizer: settings.optimizer, lr: settings.lr[settings.optimizer] });
  } catch (e) {
    running = false;
    updateRunButton();
    fail(e, 'Could not set up the model');
    return;
  }
  if (overrides.length !== settings.k) overrides = Array.from({ length: settings.k }, () => null);
  learned = [];
  // The enlarged view and the spotlight belong to the old model (its size, its colours).
  if (ui.zoom.open) ui.zoom.close();
  highlightLayer(null);
  buildPaletteUi();
  plot?.clear();
  for (const c of [ui.recon, ui.error, ui.recolor, ui.spotPhoto, ui.spotRecon, ...weightCanvases]) {
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
  viewsDirty = true;
  weightsDirty = true;
  updateRunButton();
  updateReadouts();
}

/** A restart setting changed: a new model, said in the page, running again if it was running. */
function restartFor(what: string, release: boolean): void {
  const wasRunning = running;
  running = false;
  rebuild(release);
  recordUrl();
  if (!model) return;
  say(`${what}: training starts again from step 0.`, 'note');
  if (wasRunning) start();
}

/** Pixels at `maxSide`, transparent ones composited over `background` (the model fits RGB). */
function photoPixels(source: ImageSource, maxSide: number, background: string): { pixels: ImageData; transparent: number } {
  const pixels = toImageData(source, maxSide);
  const bg = hexToRgb(background) ?? [1, 1, 1];
  const d = pixels.data;
  let transparent = 0;
  for (let o = 0; o < d.length; o += 4) {
    const a = d[o + 3]!;
    if (a === 255) continue;
    transparent++;
    const t = a / 255;
    for (let c = 0; c < 3; c++) d[o + c] = Math.round(d[o + c]! * t + bg[c]! * 255 * (1 - t));
    d[o + 3] = 255;
  }
  return { pixels, transparent };
}

/** Draws the photo into its view and under the before/after slider (2D canvases: no GPU needed). */
function showPhoto(source: CanvasImageSource | ImageData, width: number, height: number): void {
  for (const c of [ui.photo, ui.before]) {
    c.width = width;
    c.height = height;
    const ctx = c.getContext('2d')!;
    if (source instanceof ImageData) ctx.putImageData(source, 0, 0);
    else ctx.drawImage(source, 0, 0, width, height);
  }
}

/** The size menu for this photo: sizes above its long side are disabled (the demo never upscales). */
function updateSizeMenu(longSide: number, chosen: number): void {
  const values = new Set(SIZES);
  values.add(chosen);
  if (longSide < SIZES.at(-1)! || chosen > longSide) values.add(longSide);
  ui.size.replaceChildren(
    ...[...values]
      .sort((a, b) => a - b)
      .map((v) => {
        const label = v === longSide ? `${v} px · full size` : v > longSide ? `${v} px · above the photo's ${longSide}` : `${v} px`;
        const o = el('option', { value: String(v) }, label);
        o.disabled = v > longSide;
        return o;
      }),
  );
  ui.size.value = String(Math.min(chosen, longSide));
}

function sizeSide(): number {
  return settings.maxSide ?? (pg.backend()?.isSoftware ? DEFAULT_SIDE.software : DEFAULT_SIDE.hardware);
}

/**
 * Takes a decoded photo: shows it at once, and once the adapter is known scales it to the chosen
 * long side (never above its own) and builds a model for it.
 */
function setPhoto(source: ImageSource, name: string, sample: string | null): void {
  const [w0, h0] = source instanceof HTMLImageElement ? [source.naturalWidth, source.naturalHeight] : [source.width, source.height];
  const longSide = Math.max(w0, h0);
  if (!pg.backend()) {
    // Before WebGPU is up: the photo at once, at up to 512 px (the model's pixels come later).
    const preview = toImageData(source, DEFAULT_SIDE.hardware);
    showPhoto(preview, preview.width, preview.height);
    photo = { name, sample, source, longSide, pixels: null, transparent: 0 };
    ui.photoInfo.textContent = `${name}: ${w0}×${h0} px`;
    return;
  }
  const side = Math.min(sizeSide(), longSide);
  const { pixels, transparent } = photoPixels(source, side, settings.background);
  const changed = photo !== null && (photo.source !== source || photo.pixels?.width !== pixels.width || photo.pixels?.height !== pixels.height);
  photo = { name, sample, source, longSide, pixels, transparent };
  settings.maxSide = side;
  updateSizeMenu(longSide, side);
  showPhoto(pixels, pixels.width, pixels.height);
  ui.photoInfo.textContent = `${name}: ${pixels.width}×${pixels.height} px${pixels.width < w0 ? ` (from ${w0}×${h0})` : ''}`;
  if (transparent > 0) {
    notify(`“${name}” has ${transparent} transparent or translucent pixels: they are shown over ${settings.background}, the background colour under Photo, because the model fits colours, not alpha.`);
  }
  const wasRunning = running;
  running = false;
  rebuild(changed);
  recordUrl();
  if (wasRunning && model) start();
}

async function loadFile(file: File): Promise<void> {
  try {
    const image = await decodeFile(file);
    setPhoto(image, file.name, null);
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
    setPhoto(image, sample.title, sample.id);
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
  ui.start.disabled = !model || failed;
  ui.step.disabled = !model || failed;
  ui.reset.disabled = !model || failed;
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
  stepsShown = Math.max(stepsShown, last);
  lastLoss = history.total[last - 1] ?? null;
  checkConvergence(last);
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

/** Pauses once when the loss has stopped moving, unless "keep training" is on. */
function checkConvergence(last: number): void {
  // The fit's error, not the total: a sparsity term keeps sharpening the weights long after the
  // reconstruction has stopped changing.
  const now = history.mse[last - 1];
  const before = history.mse[last - 1 - CONVERGE_WINDOW];
  const converged = now !== undefined && Number.isFinite(now) && (now < CONVERGE_FLOOR || (before !== undefined && before - now < CONVERGE_TOLERANCE * now));
  if (!converged || convergedAt !== null) return;
  convergedAt = last;
  ui.converged.hidden = false;
  if (running && !settings.keepGoing) {
    pause();
    say(`Converged at step ${last}: the error fell by less than ${CONVERGE_TOLERANCE * 100} % over the last ${CONVERGE_WINDOW} steps, so training paused. Resume to go on anyway, or tick “Keep training after it converges”.`, 'note');
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
    const error = m.errorMap(recon);
    pg.toCanvas(error, ui.error);
    const edited = recolorPalette(m);
    const recolor = edited ? pg.colorMix(weights, edited) : recon;
    pg.toCanvas(recolor, ui.recolor);
    if (withWeights) {
      weightCanvases.forEach((c, k) => {
        pg.toCanvas(m.weightMap(weights, k), c);
      });
    }
    const k = spotlight;
    if (k !== null && k < m.k) {
      // Shaded by the colour's weight: bright where it explains the pixel, dark where it does not.
      const shade = weights.slice([0, 0, k], [m.height, m.width, k + 1]).mul(1 - SPOT_FLOOR).add(SPOT_FLOOR);
      pg.toCanvas(m.photoTensor().mul(shade), ui.spotPhoto);
      pg.toCanvas(recon.mul(shade), ui.spotRecon);
    }
    const z = zoomed;
    const v = z?.view;
    if (z && v && v.kind !== 'photo') {
      const shown = v.kind === 'weight' ? (v.k < m.k ? m.weightMap(weights, v.k) : null) : { recon, error, recolor }[v.kind];
      if (shown) pg.toCanvas(shown, z.canvas);
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
    // The chart and the readouts show the same step (the last one read back), every frame.
    plot?.draw(true);
    updateReadouts();
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
      const box = el('div', { class: 'swatch' }, input, el('span', { class: 'hex' }, '…'), el('span', { class: 'learned', title: 'learned colour' }), undo);
      // Pointing at a colour (or focusing it) picks out its weight map: where the colour is used.
      box.addEventListener('mouseenter', () => highlightLayer(i));
      box.addEventListener('mouseleave', () => highlightLayer(null));
      box.addEventListener('focusin', () => highlightLayer(i));
      box.addEventListener('focusout', () => highlightLayer(null));
      return box;
    }),
  );
  weightCanvases = [];
  weightLabels = [];
  ui.weightmaps.replaceChildren(
    ...Array.from({ length: k }, (_, i) => {
      const c = el('canvas', { width: String(model?.width ?? 4), height: String(model?.height ?? 4), role: 'img', 'aria-label': `Weight map of colour ${i + 1}: white where it explains the whole pixel` });
      const open = el('button', { type: 'button', class: 'layer', title: `Enlarge weight map ${i + 1} (and save it as an RGBA layer)`, 'aria-label': `Weight map of colour ${i + 1}: enlarge it, to save it as an RGBA PNG layer` }, c);
      open.addEventListener('click', () => openZoom({ kind: 'weight', k: i }, open));
      weightCanvases.push(c);
      const label = el('span', { class: 'chip' });
      weightLabels.push(label);
      const figure = el('figure', { 'data-index': String(i) }, open, el('figcaption', {}, label, el('span', {}, `${i + 1}`), el('span', { class: 'cov' })));
      // Pointing at a weight map lights up its pixels too.
      figure.addEventListener('mouseenter', () => highlightLayer(i));
      figure.addEventListener('mouseleave', () => highlightLayer(null));
      return figure;
    }),
  );
  updateSwatches();
}

/**
 * Outlines weight map k and dims the others, and lights up the pixels colour k explains in the
 * photo and the reconstruction (shaded by its weight); null shows everything as it is.
 */
function highlightLayer(k: number | null): void {
  ui.weightmaps.querySelectorAll<HTMLElement>('figure').forEach((f, i) => {
    f.classList.toggle('highlight', i === k);
    f.classList.toggle('dim', k !== null && i !== k);
  });
  if (k === spotlight) return;
  spotlight = k;
  ui.spotPhoto.hidden = ui.spotRecon.hidden = k === null;
  document.querySelector('.views')?.toggleAttribute('data-spotlight', k !== null);
  if (k === null || !model) return;
  try {
    draw(false);
  } catch (e) {
    fail(e, 'Drawing failed');
  }
}

// ---------- enlarged views ----------

const ZOOM_TITLES = { photo: 'Photo', recon: 'Reconstruction', error: 'Error map', recolor: 'Recoloured photo' } as const;

function viewCanvas(v: ZoomView): HTMLCanvasElement | undefined {
  return v.kind === 'weight' ? weightCanvases[v.k] : { photo: ui.photo, recon: ui.recon, error: ui.error, recolor: ui.recolor }[v.kind];
}

/** Opens the enlarged view of `v` (a modal dialog: Esc or a click outside closes it, and the focus goes back to `opener`). */
function openZoom(v: ZoomView, opener: HTMLElement | null): void {
  const source = viewCanvas(v);
  if (!source || !model) return;
  if (ui.zoom.open) ui.zoom.close();
  const canvas = el('canvas', { id: 'zoom-canvas', width: String(source.width), height: String(source.height), role: 'img', 'aria-label': source.getAttribute('aria-label') ?? '' });
  ui.zoomBody.replaceChildren(canvas);
  ui.zoomTitle.textContent = v.kind === 'weight' ? `Weight map of colour ${v.k + 1}` : ZOOM_TITLES[v.kind];
  ui.zoomSave.hidden = v.kind !== 'weight';
  zoomed = { view: v, canvas, opener };
  sizeZoom();
  ui.zoom.showModal();
  if (v.kind === 'photo') canvas.getContext('2d')!.drawImage(ui.photo, 0, 0);
  else {
    try {
      draw(false);
    } catch (e) {
      fail(e, 'Drawing failed');
    }
  }
}

/**
 * The enlarged canvas's size on screen: as large as the window allows, by a whole factor when it
 * is at least 2 (every model pixel the same number of screen pixels), drawn without smoothing.
 */
function sizeZoom(): void {
  if (!zoomed) return;
  const { width: w, height: h } = zoomed.canvas;
  const fit = Math.min((window.innerWidth * 0.94 - 32) / w, (window.innerHeight * 0.94 - 120) / h);
  const scale = fit >= 2 ? Math.floor(fit) : Math.max(fit, 0.1);
  zoomed.canvas.style.width = `${Math.round(w * scale)}px`;
  zoomed.canvas.style.height = `${Math.round(h * scale)}px`;
}

function bindZoom(): void {
  document.querySelectorAll<HTMLButtonElement>('.views .zoom').forEach((b) => {
    const kind = b.dataset.view as 'photo' | 'recon' | 'error' | 'recolor';
    b.addEventListener('click', () => openZoom({ kind }, b));
    viewCanvas({ kind })?.addEventListener('click', () => openZoom({ kind }, b));
  });
  ui.zoomClose.addEventListener('click', () => ui.zoom.close());
  // A click on the backdrop (the dialog element itself, outside its inner box) closes it.
  ui.zoom.addEventListener('click', (e) => {
    if (e.target === ui.zoom) ui.zoom.close();
  });
  ui.zoom.addEventListener('close', () => {
    const opener = zoomed?.opener;
    zoomed = null;
    ui.zoomBody.replaceChildren();
    if (opener?.isConnected) opener.focus();
  });
  ui.zoomSave.addEventListener('click', () => {
    if (zoomed?.view.kind === 'weight') void exportLayer(zoomed.view.k);
  });
  window.addEventListener('resize', sizeZoom);
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
  set('r-step', String(stepsShown));
  set('r-loss', lastLoss === null ? '–' : lastLoss.toExponential(3));
  set('run-step', String(stepsShown));
  set('run-loss', lastLoss === null ? '–' : lastLoss.toExponential(3));
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

  ui.size.addEventListener('change', () => {
    const side = Number(ui.size.value);
    if (!photo || side === settings.maxSide) return;
    settings.maxSide = side;
    try {
      setPhoto(photo.source, photo.name, photo.sample);
      if (model) say(`Long side ${side} px (${model.width}×${model.height}): training starts again from step 0.`, 'note');
    } catch (e) {
      fail(e, 'Could not resize the photo');
    }
  });

  ui.background.value = settings.background;
  ui.background.addEventListener('change', () => {
    settings.background = ui.background.value;
    recordUrl();
    // Only a photo with transparent pixels changes (and is fitted again); an opaque one keeps its fit.
    if (!photo || photo.transparent === 0) return;
    setPhoto(photo.source, photo.name, photo.sample);
    if (model) say(`Background ${settings.background}: training starts again from step 0.`, 'note');
  });

  ui.k.value = String(settings.k);
  ui.k.addEventListener('change', () => {
    const v = Number(ui.k.value);
    if (!Number.isInteger(v) || v < K_MIN || v > K_MAX) {
      say(`K must be a whole number from ${K_MIN} to ${K_MAX}; “${ui.k.value}” is not. K stays ${settings.k}.`);
      ui.k.value = String(settings.k);
      return;
    }
    if (v === settings.k) return;
    clearMessage();
    settings.k = v;
    overrides = [];
    restartFor(`K is now ${v}`, true);
  });

  const lrOut = byId('lr-out');
  const showLr = () => {
    const lr = settings.lr[settings.optimizer];
    ui.lr.value = String(Math.log10(lr));
    lrOut.textContent = String(lr);
  };
  ui.optimizer.value = settings.optimizer;
  ui.optimizer.addEventListener('change', () => {
    settings.optimizer = ui.optimizer.value === 'sgd' ? 'sgd' : 'adam';
    showLr();
    recordUrl();
    try {
      model?.switchOptimizer(settings.optimizer, settings.lr[settings.optimizer]);
    } catch (e) {
      fail(e, 'Could not switch the optimizer');
    }
  });
  ui.lr.addEventListener('input', () => {
    const lr = Number((10 ** Number(ui.lr.value)).toPrecision(2));
    settings.lr[settings.optimizer] = lr;
    lrOut.textContent = String(lr);
    if (model) model.lr = lr;
    recordUrl();
  });
  showLr();

  const slider = (input: HTMLInputElement, out: string, key: 'sparsity' | 'smoothness') => {
    const o = byId(out);
    input.value = String(settings[key]);
    const update = () => {
      settings[key] = Number(input.value);
      o.textContent = settings[key] === 0 ? 'off' : String(settings[key]);
    };
    input.addEventListener('input', () => {
      update();
      recordUrl();
    });
    update();
  };
  ui.colourError.value = settings.perceptual ? 'lab' : 'rgb';
  ui.colourError.addEventListener('change', () => {
    settings.perceptual = ui.colourError.value === 'lab';
    recordUrl();
  });
  slider(ui.sparsity, 'sparsity-out', 'sparsity');
  slider(ui.smoothness, 'smoothness-out', 'smoothness');

  const spfOut = byId('spf-out');
  ui.spf.value = String(settings.stepsPerFrame);
  const setSpf = () => {
    settings.stepsPerFrame = Number(ui.spf.value);
    spfOut.textContent = ui.spf.value;
  };
  ui.spf.addEventListener('input', () => {
    setSpf();
    recordUrl();
  });
  setSpf();

  ui.keepGoing.checked = settings.keepGoing;
  ui.keepGoing.addEventListener('change', () => {
    settings.keepGoing = ui.keepGoing.checked;
    recordUrl();
  });

  ui.seed.value = String(settings.seed);
  ui.seed.addEventListener('change', () => {
    const v = Number(ui.seed.value);
    if (!Number.isInteger(v) || v < 0) {
      say(`The seed must be a whole number ≥ 0; “${ui.seed.value}” is not.`);
      ui.seed.value = String(settings.seed);
      return;
    }
    if (v === settings.seed) return;
    settings.seed = v;
    restartFor(`Seed is now ${v}`, false);
  });

  ui.start.addEventListener('click', () => (running ? pause() : start()));
  ui.step.addEventListener('click', () => void runSteps(1));
  ui.reset.addEventListener('click', () => restartFor('Reset', false));
  ui.resetColours.addEventListener('click', () => {
    overrides = overrides.map(() => null);
    updateSwatches();
    draw(false);
  });
  byId('message-close').addEventListener('click', clearMessage);
  byId('notice-close').addEventListener('click', () => {
    ui.notice.hidden = true;
  });

  byId('export-palette').addEventListener('click', exportPalette);
  byId('export-recon').addEventListener('click', () => void exportPng((m) => m.reconstruction(), 'reconstruction.png'));
  byId('export-recolor').addEventListener('click', () => void exportPng((m) => pg.colorMix(m.weights(), recolorPalette(m) ?? m.palette()), 'recoloured.png'));
  byId('export-layers').addEventListener('click', () => void exportLayers());
  byId('export-poster').addEventListener('click', () => void exportPng((m) => m.posterized(recolorPalette(m) ?? m.palette()), 'posterized.png'));
  // A button (focusable, announced) opens the hidden file input.
  ui.importButton.addEventListener('click', () => ui.importPalette.click());
  ui.importPalette.addEventListener('change', () => {
    const f = ui.importPalette.files?.[0];
    if (f) void importPalette(f);
    ui.importPalette.value = '';
  });

  bindZoom();

  const figure = ui.compare.closest('figure')!;
  const setCut = () => {
    figure.style.setProperty('--cut', `${ui.compare.value}%`);
    figure.dataset.cut = ui.compare.value;
  };
  ui.compare.addEventListener('input', setCut);
  setCut();

  const setHelp = (open: boolean) => {
    ui.help.hidden = !open;
    ui.helpButton.setAttribute('aria-expanded', String(open));
  };
  ui.helpButton.addEventListener('click', () => setHelp(ui.help.hidden === true));
  document.addEventListener('click', (e) => {
    if (!ui.help.hidden && !ui.help.contains(e.target as Node) && e.target !== ui.helpButton) setHelp(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !ui.help.hidden) {
      setHelp(false);
      ui.helpButton.focus();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    // Keys typed into a field, and Space or Enter on a button or link, keep their own meaning.
    const t = e.target as HTMLElement;
    if (t.isContentEditable || t.closest('input, select, textarea, button, a[href], [tabindex]:not([tabindex="-1"])')) return;
    const action: Record<string, () => void> = {
      ' ': () => (running ? pause() : start()),
      s: () => void runSteps(1),
      r: () => restartFor('Reset', false),
      '?': () => setHelp(ui.help.hidden === true),
    };
    const run = action[e.key.toLowerCase()];
    if (!run || (e.key !== '?' && !model)) return;
    e.preventDefault();
    run();
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
  /** The last step whose loss was read back (what the readouts and the chart show). */
  get stepShown(): number {
    return stepsShown;
  },
  /** The last step on the drawn loss chart. */
  get plotStep(): number {
    return plot?.drawnStep ?? 0;
  },
  /** The step at which training counted as converged, or null. */
  get convergedAt(): number | null {
    return convergedAt;
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
  /** The colour lit up in the photo and the reconstruction, or null. */
  get spotlight(): number | null {
    return spotlight;
  },
  /** What the enlarged view shows, or null when it is closed. */
  get zoomed(): string | null {
    return zoomed ? (zoomed.view.kind === 'weight' ? `weight ${zoomed.view.k}` : zoomed.view.kind) : null;
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
  notice: () => (ui.notice.hidden ? '' : (ui.noticeText.textContent ?? '')),
  settings: () => structuredClone(settings),
  start,
  pause,
  runSteps,
  settled,
  reset: () => rebuild(),
  loadSample,
  /** Loads any image source (e.g. a 0×0 canvas), as a dropped file would be. */
  loadImage: async (source: ImageSource, name = 'image') => {
    try {
      setPhoto(source, name, null);
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
  // WebGPU starts while the page comes up and the sample decodes: the photo shows at once.
  const ready = pg.init();
  ui.app.hidden = false;
  plot = new LossPlot(byId('plot'));
  bindControls();
  updateRunButton();
  const sampleLoaded = loadSample(query.get('sample') ?? SAMPLES[0]!.id);
  let be: pg.Backend;
  try {
    be = await ready;
  } catch (e) {
    showFallback(e);
    return;
  }
  showAdapter(be);
  await sampleLoaded;
  // Decoded before the adapter was known: now at its size (256 px on a software adapter).
  if (photo && !photo.pixels) setPhoto(photo.source, photo.name, photo.sample);
  if (urlNotices.length) notify(`From the address: ${urlNotices.join(' ')}`);
  recordUrl();
  requestAnimationFrame(tick);
  const autostart = query.get('autostart');
  const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)').matches;
  if (autostart === '1' || (autostart === null && !reducedMotion)) start();
  else if (autostart === null && reducedMotion) say('Your system asks for reduced motion, so training waits for Start (or Space).', 'note');
}

void boot();
