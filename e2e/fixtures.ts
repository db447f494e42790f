/**
 * Shared setup for the demo tests: a `demo` fixture that opens the page with test-friendly URL
 * parameters, waits until the model is ready, and records console errors and uncaught exceptions
 * so each test can assert there were none.
 */
import { test as base, expect, type Page } from '@playwright/test';

export interface Demo {
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  readonly errors: string[];
  /** Opens the main page (128 px, paused unless autostart is given) and waits for the model. */
  open(params?: Record<string, string>): Promise<void>;
}

export const test = base.extend<{ demo: Demo }>({
  demo: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
    const open = async (params: Record<string, string> = {}) => {
      const q = new URLSearchParams({ size: '128', autostart: '0', ...params });
      await page.goto(`/?${q}`);
      await page.waitForFunction(() => window.__pixelgrad?.status === 'ready' && window.__pixelgrad.palette().length > 0);
    };
    await use({ page, errors, open });
  },
});

export { expect };

/** Mean absolute difference (0-255) between two PNG screenshots of the same size, decoded in the page. */
export async function pngDifference(page: Page, a: Buffer, b: Buffer): Promise<number> {
  return page.evaluate(
    async ([a64, b64]) => {
      const pixels = async (b64: string) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const c = new OffscreenCanvas(bmp.width, bmp.height);
        const ctx = c.getContext('2d')!;
        ctx.drawImage(bmp, 0, 0);
        return ctx.getImageData(0, 0, bmp.width, bmp.height).data;
      };
      const [pa, pb] = await Promise.all([pixels(a64!), pixels(b64!)]);
      if (pa.length !== pb.length) return 255;
      let sum = 0;
      for (let i = 0; i < pa.length; i += 4) sum += Math.abs(pa[i]! - pb[i]!) + Math.abs(pa[i + 1]! - pb[i + 1]!) + Math.abs(pa[i + 2]! - pb[i + 2]!);
      return sum / ((pa.length / 4) * 3);
    },
    [a.toString('base64'), b.toString('base64')],
  );
}
