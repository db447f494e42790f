import type { Tensor } from '../tensor.ts';
import { imageShape, makeImageData, toRgba8 } from './image-shape.ts';

/**
 * Reads a [H, W, 3|4] tensor back as ImageData (values clamped to [0, 1]; alpha 255 for RGB).
 * @example
 * const pixels = await pg.toImageData(pg.rand([32, 32, 3]));
 * ctx.putImageData(pixels, 0, 0);
 */
export async function toImageData(t: Tensor): Promise<ImageData> {
  const { height, width, channels } = imageShape('toImageData', t);
  const values = await t.data();
  return makeImageData('toImageData', toRgba8(values, height * width, channels), width, height);
}
