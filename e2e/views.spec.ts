/**
 * The views up close (issue 17): click-to-zoom on the photo, the reconstruction, the error map,
 * the recoloured photo and the weight maps, and a pointed-at (or focused) swatch lighting up the
 * pixels it explains. Each test runs at desktop size and, tagged @phone, at phone size.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';
import { expect, pngDifference, test } from './fixtures.ts';

/** Mean and spread (0-255) of a PNG screenshot's pixels, decoded in the page. */
async function pngStats(page: Page, png: Buffer): Promise<{ mean: number; spread: number }> {
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let sum = 0;
    let sq = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const v = (d[i]! + d[i + 1]! + d[i + 2]!) / 3;
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    return { mean, spread: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
  }, png.toString('base64'));
}


const activeDescription = (page: Page) =>
  page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    return e ? `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.dataset.view ? `[${e.dataset.view}]` : ''}.${e.className}` : '';
  });

async function expectSeriousFree(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
}

/** The enlarged view is open, shows `title`, fits the window, is larger than `small`, and has pixelated, non-blank content. */
async function expectZoomed(page: Page, title: string | RegExp, small: Locator): Promise<void> {
  const dialog = page.locator('#zoom');
  await expect(dialog).toBeVisible();
  await expect(page.locator('#zoom-title')).toHaveText(title);
  const canvas = page.locator('#zoom-canvas');
  const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ w: c.width, h: c.height, rendering: getComputedStyle(c).imageRendering }));
  expect([size.w, size.h]).toEqual(await page.evaluate(() => window.__pixelgrad.size()));
  expect(size.rendering).toBe('pixelated');
  const big = (await canvas.boundingBox())!;
  const was = (await small.boundingBox())!;
  expect(big.width).toBeGreaterThan(was.width * 1.2);
  const viewport = page.viewportSize()!;
  expect(big.x).toBeGreaterThanOrEqual(0);
  expect(big.y).toBeGreaterThanOrEqual(0);
  expect(big.x + big.width).toBeLessThanOrEqual(viewport.width);
  expect(big.y + big.height).toBeLessThanOrEqual(viewport.height);
  // Drawn: not one flat colour.
  await expect.poll(async () => (await pngStats(page, await canvas.screenshot())).spread).toBeGreaterThan(3);
}

async function zoomEveryView(page: Page): Promise<void> {
  const views = [
    ['photo', '#view-photo', 'Photo'],
    ['recon', '#view-recon', 'Reconstruction'],
    ['error', '#view-error', 'Error map'],
    ['recolor', '#view-recolor', 'Recoloured photo'],
  ] as const;
  for (const [kind, canvas, title] of views) {
    // From the keyboard: the ⤢ button, Enter, Esc; the focus comes back to the button.
    const button = page.locator(`.views .zoom[data-view="${kind}"]`);
    await button.focus();
    await page.keyboard.press('Enter');
    await expectZoomed(page, title, page.locator(canvas));
    expect(await page.evaluate(() => window.__pixelgrad.zoomed)).toBe(kind);
    // The focus is inside the dialog (on its close button).
    expect(await activeDescription(page)).toContain('#zoom-close');
    await page.keyboard.press('Escape');
    await expect(page.locator('#zoom')).toBeHidden();
    // (The dialog's close event, which gives the focus back, comes a task after it hides.)
    await expect.poll(() => page.evaluate(() => window.__pixelgrad.zoomed)).toBeNull();
    await expect.poll(() => activeDescription(page)).toContain(`[${kind}]`);
  }
  // With the pointer: a click (tap) on the view itself; the close button closes.
  await page.locator('#view-error').click();
  await expectZoomed(page, 'Error map', page.locator('#view-error'));
  await page.locator('#zoom-close').click();
  await expect(page.locator('#zoom')).toBeHidden();
  // A click outside the enlarged view (on the backdrop) closes it too.
  await page.locator('#view-photo').click();
  await expect(page.locator('#zoom')).toBeVisible();
  await page.mouse.click(3, 3);
  await expect(page.locator('#zoom')).toBeHidden();
}

async function zoomWeightMap(page: Page): Promise<void> {
  const layer = page.locator('#weightmaps .layer').nth(1);
  await layer.scrollIntoViewIfNeeded();
  await layer.click();
  await expectZoomed(page, 'Weight map of colour 2', page.locator('#weightmaps canvas').nth(1));
  expect(await page.evaluate(() => window.__pixelgrad.zoomed)).toBe('weight 1');
  // Saving the layer moved into the enlarged view.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#zoom-save').click()]);
  expect(download.suggestedFilename()).toMatch(/^layer-2-[0-9a-f]{6}\.png$/);
  await expectSeriousFree(page);
  await page.keyboard.press('Escape');
  await expect(page.locator('#zoom')).toBeHidden();
  await expect.poll(() => activeDescription(page)).toContain('.layer');
}

/** Pointing at swatch k lights up the photo and the reconstruction where colour k explains the pixels. */
async function spotlight(page: Page): Promise<void> {
  const views = page.locator('.views');
  await expect(page.locator('#spot-recon')).toBeHidden();
  const recon = await page.locator('#view-recon').screenshot();
  const lit: Buffer[] = [];
  for (const k of [0, 1]) {
    await page.locator('#swatches .swatch').nth(k).hover();
    await expect(page.locator('#spot-recon')).toBeVisible();
    await expect(page.locator('#spot-photo')).toBeVisible();
    await expect(views).toHaveAttribute('data-spotlight', '');
    await expect(page.locator('#weightmaps figure').nth(k)).toHaveClass(/highlight/);
    expect(await page.evaluate(() => window.__pixelgrad.spotlight)).toBe(k);
    lit.push(await page.locator('#spot-recon').screenshot());
  }
  // Shaded by the weight: darker than the reconstruction overall, and each colour lights other pixels.
  const plain = await pngStats(page, recon);
  for (const png of lit) expect((await pngStats(page, png)).mean).toBeLessThan(plain.mean - 5);
  expect(await pngDifference(page, lit[0]!, lit[1]!)).toBeGreaterThan(3);
  await page.locator('h1').hover();
  await expect(page.locator('#spot-recon')).toBeHidden();
  await expect(page.locator('#spot-photo')).toBeHidden();
  expect(await page.evaluate(() => window.__pixelgrad.spotlight)).toBeNull();
  // From the keyboard: focusing a swatch lights it up, leaving it turns the light off.
  await page.locator('#swatches input[type=color]').nth(2).focus();
  await expect(page.locator('#spot-recon')).toBeVisible();
  expect(await page.evaluate(() => window.__pixelgrad.spotlight)).toBe(2);
  await expectSeriousFree(page);
  await page.locator('#start').focus();
  await expect(page.locator('#spot-recon')).toBeHidden();
}

for (const size of ['desktop', 'phone'] as const) {
  const tag = size === 'phone' ? ' @phone' : '';
  test.describe(`the views up close, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });

    test(`every view enlarges from a click or the keyboard, pixelated, and Esc gives the focus back${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.evaluate(() => window.__pixelgrad.runSteps(20));
      await zoomEveryView(page);
      await zoomWeightMap(page);
      // Training goes on under an open enlarged view, which follows it.
      await page.locator('.views .zoom[data-view="recon"]').click();
      const first = await page.locator('#zoom-canvas').screenshot();
      await page.evaluate(() => window.__pixelgrad.runSteps(30));
      await expect.poll(async () => pngDifference(page, first, await page.locator('#zoom-canvas').screenshot())).toBeGreaterThan(0.5);
      await expectSeriousFree(page);
      await page.keyboard.press('Escape');
      expect(errors).toEqual([]);
    });

    test(`a pointed-at or focused swatch lights up the pixels it explains${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.evaluate(() => window.__pixelgrad.runSteps(60));
      await spotlight(page);
      expect(errors).toEqual([]);
    });
  });
}
