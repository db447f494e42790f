/** Small DOM and colour helpers. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`demo: #${id} is missing from the page`);
  return e as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export type Rgb = readonly [number, number, number];

const byte = (v: number) =>
  Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255)
    .toString(16)
    .padStart(2, '0');

export const rgbToHex = (c: readonly number[]): string => `#${byte(c[0] ?? 0)}${byte(c[1] ?? 0)}${byte(c[2] ?? 0)}`;

/** '#rrggbb' (or '#rgb') to [0, 1] channels; null when it is not a hex colour. */
export function hexToRgb(hex: string): Rgb | null {
  let m = /^#?([0-9a-f]{6})$/i.exec(hex.trim())?.[1];
  const short = /^#?([0-9a-f]{3})$/i.exec(hex.trim())?.[1];
  if (!m && short) m = [...short].map((c) => c + c).join('');
  if (!m) return null;
  const n = Number.parseInt(m, 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

/** Relative luminance, to pick black or white text over a colour. */
export const luminance = (c: readonly number[]) => 0.2126 * (c[0] ?? 0) + 0.7152 * (c[1] ?? 0) + 0.0722 * (c[2] ?? 0);

export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** ImageData to a PNG blob through a 2D canvas. */
export function pngOf(images: readonly ImageData[], columns = images.length, gap = 0): Promise<Blob> {
  const w = images[0]?.width ?? 1;
  const h = images[0]?.height ?? 1;
  const rows = Math.ceil(images.length / columns);
  const canvas = el('canvas');
  canvas.width = columns * w + (columns - 1) * gap;
  canvas.height = rows * h + (rows - 1) * gap;
  const ctx = canvas.getContext('2d')!;
  images.forEach((img, i) => {
    ctx.putImageData(img, (i % columns) * (w + gap), Math.floor(i / columns) * (h + gap));
  });
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas.toBlob gave no PNG'))), 'image/png'));
}

export const formatBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`);
