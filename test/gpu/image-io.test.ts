/**
 * Browser-only image I/O: fromImage from ImageData, canvases and bitmaps gives exact values;
 * toCanvas shows the pixels; toImageData round-trips; bad sizes and shapes give typed errors.
 * Runs on WebGPU, then the same checks on the CPU backend (2D canvas path).
 */
import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { mulberry32 } from '../../src/random.ts';
import { type BackendKind, expectClose, expectError, useBackend } from '../shared/backends.ts';

/** RGBA bytes; opaque unless `alpha`, so canvas and bitmap paths (premultiplied inside) stay exact. */
function pixels(width: number, height: number, seed: number, alpha = false): Uint8ClampedArray<ArrayBuffer> {
  const r = mulberry32(seed);
  const d = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < d.length; i++) d[i] = i % 4 === 3 && !alpha ? 255 : Math.floor(r() * 256);
  // Make sure the extremes appear.
  d[0] = 0;
  d[1] = 255;
  return d;
}

/** The float tensor fromImage should give for RGBA bytes. */
function expected(rgba: Uint8ClampedArray, channels: 3 | 4): number[] {
  const out: number[] = [];
  for (let p = 0; p < rgba.length / 4; p++) for (let c = 0; c < channels; c++) out.push(rgba[p * 4 + c]! / 255);
  return out;
}

function canvasWith(data: Uint8ClampedArray<ArrayBuffer>, width: number, height: number): OffscreenCanvas {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')!.putImageData(new ImageData(data, width, height), 0, 0);
  return canvas;
}

/** What a canvas shows, read through a 2D canvas in the same task. */
function readCanvas(canvas: HTMLCanvasElement | OffscreenCanvas): Uint8ClampedArray {
  const probe = new OffscreenCanvas(canvas.width, canvas.height);
  const ctx = probe.getContext('2d')!;
  ctx.drawImage(canvas, 0, 0);
  return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
}

function expectBytes(actual: Uint8ClampedArray, wanted: ArrayLike<number>, what: string, slack = 0): void {
  expect(actual.length, what).toBe(wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    if (Math.abs(actual[i]! - wanted[i]!) > slack) throw new Error(`${what}: byte ${i} is ${actual[i]}, expected ${wanted[i]}`);
  }
}

const EXACT = 1e-6;

function imageIoSuite(kind: BackendKind): void {
  useBackend(kind);

  test('fromImage(ImageData): exact values, 3 and 4 channels, with alpha and odd pixel counts', async () => {
    expect(pg.backend()!.kind).toBe(kind);
    for (const [w, h] of [
      [3, 2],
      [5, 3],
      [37, 23],
    ] as const) {
      const data = pixels(w, h, w * h, true);
      for (const channels of [3, 4] as const) {
        const t = pg.fromImage(new ImageData(data, w, h), { channels });
        expect(t.shape).toEqual([h, w, channels]);
        expect(t.requiresGrad).toBe(false);
        expectClose(await t.data(), expected(data, channels), 0, EXACT, `ImageData ${w}x${h}x${channels}`);
        t.dispose();
      }
    }
    const d = pixels(4, 4, 1);
    const rgb = pg.fromImage(new ImageData(d, 4, 4));
    expect(rgb.shape).toEqual([4, 4, 3]);
    rgb.dispose();
  });

  test('fromImage(OffscreenCanvas) and fromImage(ImageBitmap): exact values', async () => {
    const [w, h] = [13, 7];
    const data = pixels(w, h, 2);
    const canvas = canvasWith(data, w, h);
    const bitmap = await createImageBitmap(new ImageData(data, w, h), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    for (const channels of [3, 4] as const) {
      const a = pg.fromImage(canvas, { channels });
      expectClose(await a.data(), expected(data, channels), 0, EXACT, `OffscreenCanvas x${channels}`);
      const b = pg.fromImage(bitmap, { channels });
      expect(b.shape).toEqual([h, w, channels]);
      expectClose(await b.data(), expected(data, channels), 0, EXACT, `ImageBitmap x${channels}`);
      pg.dispose([a, b]);
    }
    // The same size again reuses the upload texture; a new image must still come through.
    const other = pixels(w, h, 3);
    const c = pg.fromImage(canvasWith(other, w, h));
    expectClose(await c.data(), expected(other, 3), 0, EXACT, 'second canvas');
    c.dispose();
    bitmap.close();
  });

  test('fromImage(VideoFrame) and fromImage(HTMLCanvasElement)', async () => {
    const [w, h] = [8, 6];
    const data = pixels(w, h, 8);
    const frame = new VideoFrame(canvasWith(data, w, h), { timestamp: 0 });
    const a = pg.fromImage(frame, { channels: 4 });
    expect(a.shape).toEqual([h, w, 4]);
    expectClose(await a.data(), expected(data, 4), 0, EXACT, 'VideoFrame');
    frame.close();
    const element = document.createElement('canvas');
    element.width = w;
    element.height = h;
    element.getContext('2d')!.putImageData(new ImageData(data, w, h), 0, 0);
    const b = pg.fromImage(element);
    expectClose(await b.data(), expected(data, 3), 0, EXACT, 'HTMLCanvasElement');
    pg.dispose([a, b]);
  });

  test('a cross-origin (tainted) source gives a clear error', () => {
    // A real tainted image needs a second origin; simulate the browser's SecurityError where it is raised.
    const security = () => {
      throw new DOMException('The canvas has been tainted by cross-origin data.', 'SecurityError');
    };
    const canvas = canvasWith(pixels(2, 2, 9), 2, 2);
    const proto = OffscreenCanvasRenderingContext2D.prototype;
    const queue = kind === 'webgpu' ? (pg.backend() as unknown as { device: GPUDevice }).device.queue : null;
    const original = proto.getImageData;
    if (queue) queue.copyExternalImageToTexture = security;
    else proto.getImageData = security;
    try {
      expectError(() => pg.fromImage(canvas), pg.InvalidArgumentError, 'fromImage', 'cross-origin', 'crossOrigin');
    } finally {
      if (queue) Reflect.deleteProperty(queue, 'copyExternalImageToTexture');
      else proto.getImageData = original as typeof proto.getImageData;
    }
  });

  test('fromImage feeds a computation in the same batch as other kernels', async () => {
    const data = pixels(8, 8, 4);
    const x = pg.tensor([0.5]);
    const pending = x.mul(2); // recorded, not yet submitted
    const img = pg.fromImage(new ImageData(data, 8, 8));
    const y = img.mul(pending);
    expectClose(await y.data(), expected(data, 3), 0, EXACT, 'fromImage * 1');
    pg.dispose([x, pending, img, y]);
  });

  test('toCanvas draws the pixels (HTMLCanvasElement and OffscreenCanvas), clamped, and resizes the canvas', async () => {
    const [w, h] = [9, 5];
    const data = pixels(w, h, 5);
    for (const channels of [3, 4] as const) {
      const t = pg.tensor(expected(data, channels), { shape: [h, w, channels] });
      const element = document.createElement('canvas');
      pg.toCanvas(t, element);
      expect([element.width, element.height]).toEqual([w, h]);
      expectBytes(readCanvas(element), data, `canvas element x${channels}`);
      const offscreen = new OffscreenCanvas(1, 1);
      pg.toCanvas(t, offscreen);
      expect([offscreen.width, offscreen.height]).toEqual([w, h]);
      expectBytes(readCanvas(offscreen), data, `OffscreenCanvas x${channels}`);
      t.dispose();
    }
    // Out-of-range values are clamped; a second draw to the same canvas (new size) replaces the first.
    const canvas = document.createElement('canvas');
    const t = pg.tensor([-0.5, 0.5, 1.5, 2, -1, 0], { shape: [1, 2, 3] });
    pg.toCanvas(t, canvas);
    expectBytes(readCanvas(canvas), [0, 128, 255, 255, 255, 0, 0, 255], 'clamped', 1);
    const u = pg.tensor([0.2, 0.4, 0.6, 0.8, 1, 0], { shape: [2, 1, 3] });
    pg.toCanvas(u, canvas);
    expect([canvas.width, canvas.height]).toEqual([1, 2]);
    expectBytes(readCanvas(canvas), [51, 102, 153, 255, 204, 255, 0, 255], 'second draw', 1);
    pg.dispose([t, u]);
  });

  test('toCanvas shows a freshly computed tensor (pending kernels are submitted first)', async () => {
    const a = pg.full([4, 4, 3], 0.25);
    const b = a.mul(2).add(0.1); // 0.6 -> 153
    const canvas = document.createElement('canvas');
    pg.toCanvas(b, canvas);
    const bytes = readCanvas(canvas);
    const want = Array.from({ length: 64 }, (_, i) => (i % 4 === 3 ? 255 : 153));
    expectBytes(bytes, want, 'computed', 1);
    pg.dispose([a, b]);
  });

  test('toImageData round-trips fromImage', async () => {
    for (const channels of [3, 4] as const) {
      const data = pixels(11, 6, 6, channels === 4);
      const t = pg.fromImage(new ImageData(data, 11, 6), { channels });
      const back = await pg.toImageData(t);
      expect([back.width, back.height]).toEqual([11, 6]);
      const want = channels === 4 ? data : data.map((v, i) => (i % 4 === 3 ? 255 : v));
      expectBytes(back.data, want, `round trip x${channels}`);
      t.dispose();
    }
  });

  test('zero-size images, bad shapes and bad arguments throw typed errors; the engine keeps working', async () => {
    expectError(() => pg.fromImage(new OffscreenCanvas(0, 0)), pg.InvalidArgumentError, 'fromImage', '0×0');
    const empty = document.createElement('canvas');
    empty.width = 0;
    expectError(() => pg.fromImage(empty), pg.InvalidArgumentError, 'fromImage', '0×');
    expectError(() => pg.fromImage({} as ImageData), pg.InvalidArgumentError, 'fromImage');
    expectError(() => pg.fromImage(new ImageData(2, 2), { channels: 5 as 3 }), pg.InvalidArgumentError, 'channels');
    if (kind === 'webgpu') expectError(() => pg.fromImage(new OffscreenCanvas(20000, 1)), pg.LimitError, 'fromImage', '20000');
    const flat = pg.zeros([4, 4]);
    const two = pg.zeros([4, 4, 2]);
    const none = pg.zeros([0, 4, 3]);
    const canvas = document.createElement('canvas');
    expectError(() => pg.toCanvas(flat, canvas), pg.ShapeError, 'toCanvas', '[4, 4]');
    expectError(() => pg.toCanvas(two, canvas), pg.ShapeError, 'toCanvas', '[4, 4, 2]');
    expectError(() => pg.toCanvas(none, canvas), pg.ShapeError, 'toCanvas', '[0, 4, 3]');
    await expect(pg.toImageData(two)).rejects.toBeInstanceOf(pg.ShapeError);
    // A canvas that already has another kind of context cannot take this backend's drawing.
    const taken = document.createElement('canvas');
    taken.getContext(kind === 'webgpu' ? '2d' : 'webgpu');
    const img = pg.full([2, 2, 3], 0.5);
    expectError(() => pg.toCanvas(img, taken), pg.InvalidArgumentError, 'toCanvas');
    pg.dispose([flat, two, none]);
    // Still working.
    const data = pixels(3, 3, 7);
    const t = pg.fromImage(new ImageData(data, 3, 3), { channels: 4 });
    expectClose(await t.data(), expected(data, 4), 0, EXACT, 'after errors');
    const c = document.createElement('canvas');
    pg.toCanvas(img, c);
    expectBytes(readCanvas(c), [128, 128, 128, 255, 128, 128, 128, 255, 128, 128, 128, 255, 128, 128, 128, 255], 'after errors', 1);
    pg.dispose([t, img]);
  });
}

describe('image I/O on WebGPU', () => imageIoSuite('webgpu'));
describe('image I/O on the CPU backend', () => imageIoSuite('cpu'));
