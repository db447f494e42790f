/**
 * The demo as people meet it (issue 17): the first screen on a phone, a desktop that keeps the
 * results in view, a fast first frame, a palette that finds the salient colour, settings that say
 * what they do, accessibility, and the seed page.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

/** Asserts that the element's box lies wholly inside the viewport (no scrolling needed). */
async function expectOnFirstScreen(page: Page, locator: Locator): Promise<void> {
  const viewport = page.viewportSize()!;
  const box = await locator.boundingBox();
  expect(box, `${locator} has a box`).not.toBeNull();
  const { x, y, width, height } = box!;
  expect(width * height, `${locator} has an area`).toBeGreaterThan(0);
  expect(x, `${locator} left`).toBeGreaterThanOrEqual(0);
  expect(y, `${locator} top`).toBeGreaterThanOrEqual(0);
  expect(x + width, `${locator} right`).toBeLessThanOrEqual(viewport.width);
  expect(y + height, `${locator} bottom`).toBeLessThanOrEqual(viewport.height);
}

/** Mean absolute difference (0-255) between two PNG screenshots of the same size, decoded in the page. */
async function pngDifference(page: Page, a: Buffer, b: Buffer): Promise<number> {
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

/** sRGB in [0, 1] to CIE Lab (D65). */
function lab([r, g, b]: readonly number[]): [number, number, number] {
  const lin = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [lin(r!), lin(g!), lin(b!)];
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

const deltaE76 = (a: readonly number[], b: readonly number[]) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]!));

const hexToRgb = (hex: string) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);

test.describe('on a phone', () => {
  test('the photo, the reconstruction and the run controls are on the first screen @phone', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    for (const id of ['#view-photo', '#view-recon', '#start', '#step', '#reset', '#run-step', '#adapter']) await expectOnFirstScreen(page, page.locator(id));
    // The adapter pill shows its whole text: nothing cut off or ellipsed.
    const pill = await page.locator('#adapter').evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth }));
    expect(pill.scroll).toBeLessThanOrEqual(pill.client);
    // No sideways scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });

  test('the reconstruction visibly changes after some steps @phone', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    const recon = page.locator('#view-recon');
    const before = await recon.screenshot();
    await page.evaluate(() => window.__pixelgrad.runSteps(40));
    await page.waitForTimeout(200);
    const after = await recon.screenshot();
    const diff = await pngDifference(page, before, after);
    test.info().annotations.push({ type: 'mean |Δ| of the reconstruction, 0-255', description: diff.toFixed(1) });
    expect(diff).toBeGreaterThan(5);
    expect(errors).toEqual([]);
  });
});

test.describe('on a desktop', () => {
  test.use({ viewport: { width: 1440, height: 900 } });

  test('the run bar and the views stay in view while the page and the settings scroll', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    for (const id of ['#view-photo', '#view-recon', '#start', '#adapter']) await expectOnFirstScreen(page, page.locator(id));
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await expect(page.locator('#readouts')).toBeInViewport();
    for (const id of ['#view-photo', '#view-recon', '#view-error', '#start', '#run-loss']) await expectOnFirstScreen(page, page.locator(id));
    // The settings scroll on their own, down to Export, with the views still in place.
    await page.locator('#export-palette').scrollIntoViewIfNeeded();
    await expectOnFirstScreen(page, page.locator('#export-palette'));
    await expectOnFirstScreen(page, page.locator('#view-recon'));
    const pill = await page.locator('#adapter').evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth }));
    expect(pill.scroll).toBeLessThanOrEqual(pill.client);
    expect(errors).toEqual([]);
  });
});
