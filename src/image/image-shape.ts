import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { fmt } from '../shape.ts';
import { Tensor } from '../tensor.ts';

/** [H, W, C] of a tensor that can be shown as an image, or a ShapeError naming `op`. */
export function imageShape(op: string, t: Tensor): { height: number; width: number; channels: 3 | 4 } {
  if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${op}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  const [height, width, channels] = t.shape as [number, number, number];
  if (t.rank !== 3 || (channels !== 3 && channels !== 4)) {
    throw new ShapeError(`${op}: expected an image tensor of shape [H, W, 3] or [H, W, 4], got ${fmt(t.shape)}`);
  }
  if (height === 0 || width === 0) throw new ShapeError(`${op}: the image tensor ${fmt(t.shape)} has no pixels`);
  return { height, width, channels };
}

/** RGBA bytes from float values in [0, 1] (clamped, rounded); alpha 255 for 3 channels. */
export function toRgba8(values: ArrayLike<number>, pixels: number, channels: 3 | 4): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) out[p * 4 + c] = Math.round(Math.min(1, Math.max(0, values[p * channels + c]!)) * 255);
    if (channels === 3) out[p * 4 + 3] = 255;
  }
  return out;
}

/** new ImageData, or a clear error where the environment has none (Node). */
export function makeImageData(op: string, data: Uint8ClampedArray<ArrayBuffer>, width: number, height: number): ImageData {
  if (typeof ImageData !== 'function') throw new InvalidArgumentError(`${op}: this environment has no ImageData (is it Node?); read the values with data() instead`);
  return new ImageData(data, width, height);
}
