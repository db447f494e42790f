/**
 * Photos in: decode a file (checking that it is an image at all), then downscale it on a 2D canvas
 * to at most `maxSide` pixels on the long side. Every failure is an InputError whose message is
 * shown in the page as it is.
 */

export class InputError extends Error {
  override name = 'InputError';
}

const IMAGE_NAME = /\.(jpe?g|jfif|png|apng|webp|gif|avif|bmp|ico|svg)$/i;

/** Pixels on the short side below which the model has nothing to smooth. */
export const MIN_SIDE = 2;

export type ImageSource = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData;

/** Decodes an image file; rejects with an InputError that says what is wrong with it. */
export async function decodeFile(file: File): Promise<ImageBitmap | HTMLImageElement> {
  const name = `“${file.name || 'the file'}”`;
  if (file.size === 0) throw new InputError(`${name} is empty (0 bytes): there is no image in it. Choose a JPEG, PNG or WebP photo.`);
  const looksLikeImage = file.type ? file.type.startsWith('image/') : IMAGE_NAME.test(file.name);
  if (!looksLikeImage) {
    throw new InputError(`${name} is not an image (its type is ${file.type || 'unknown'}). Choose a JPEG, PNG, WebP, GIF or AVIF photo.`);
  }
  try {
    return await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    // createImageBitmap refuses SVG; an <img> decodes it (and gives a second opinion on the rest).
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } catch {
      throw new InputError(`Could not decode ${name}: the file is damaged or in a format this browser cannot read. Try a JPEG or PNG.`);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}

function sizeOf(source: ImageSource): [number, number] {
  if (source instanceof HTMLImageElement) return [source.naturalWidth, source.naturalHeight];
  return [source.width, source.height];
}

/** The pixels of `source`, downscaled so that the long side is at most maxSide. */
export function toImageData(source: ImageSource, maxSide: number): ImageData {
  const [w0, h0] = sizeOf(source);
  if (!(w0 > 0 && h0 > 0)) throw new InputError(`The image is ${w0 || 0}×${h0 || 0} pixels: there is nothing to learn from. Choose another image.`);
  const scale = Math.min(1, maxSide / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * scale));
  const h = Math.max(1, Math.round(h0 * scale));
  if (w < MIN_SIDE || h < MIN_SIDE) {
    throw new InputError(`The image is ${w0}×${h0} pixels, which becomes ${w}×${h} at ${maxSide} px: it needs at least ${MIN_SIDE} pixels on each side.`);
  }
  let current: CanvasImageSource;
  if (source instanceof ImageData) {
    const c = new OffscreenCanvas(w0, h0);
    c.getContext('2d')!.putImageData(source, 0, 0);
    current = c;
  } else {
    current = source;
  }
  // Halve in steps first: one big drawImage step skips pixels and aliases.
  let cw = w0;
  let ch = h0;
  while (cw / 2 >= w * 1.5 && ch / 2 >= h * 1.5) {
    cw = Math.round(cw / 2);
    ch = Math.round(ch / 2);
    current = draw(current, cw, ch);
  }
  const out = draw(current, w, h);
  return out.getContext('2d')!.getImageData(0, 0, w, h);
}

function draw(source: CanvasImageSource, w: number, h: number): OffscreenCanvas {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  return c;
}

/** Fetches a bundled sample and decodes it like a user's file. */
export async function fetchImage(url: string, name: string): Promise<ImageBitmap | HTMLImageElement> {
  const res = await fetch(url);
  if (!res.ok) throw new InputError(`Could not load the sample “${name}” (HTTP ${res.status}).`);
  const blob = await res.blob();
  return decodeFile(new File([blob], name, { type: blob.type || 'image/jpeg' }));
}
