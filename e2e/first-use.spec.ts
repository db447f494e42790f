/**
 * The demo as people meet it (issue 17): the first screen on a phone, a desktop that keeps the
 * results in view, a fast first frame, a palette that finds the salient colour, settings that say
 * what they do, accessibility, and the seed page.
 */
import { writeFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import type { Locator, Page } from '@playwright/test';
import { expect, pngDifference, test } from './fixtures.ts';

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

/**
 * Each item runs at both sizes people meet the demo at: a desktop (1440×900) and, tagged @phone for
 * the e2e-phone project, a phone held upright (390×844, touch).
 */
const SIZES = [
  ['desktop', ''],
  ['phone', ' @phone'],
] as const;

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

for (const [size, tag] of SIZES) {
  test.describe(`a fast first frame, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });
    test(`the photo shows before WebGPU is up, and a software adapter starts at 256 px${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      // Hold WebGPU back for 3 s: the photo must not wait for it.
      await page.addInitScript(() => {
        const gpu = navigator.gpu;
        if (!gpu) return;
        const request = gpu.requestAdapter.bind(gpu);
        gpu.requestAdapter = (options) => new Promise((r) => setTimeout(r, 3000)).then(() => request(options));
      });
      await page.goto('/?autostart=0');
      await page.waitForFunction(() => (document.querySelector('#view-photo') as HTMLCanvasElement).width > 4, null, { timeout: 2500 });
      expect(await page.evaluate(() => window.__pixelgrad.status)).toBe('starting');
      await page.waitForFunction(() => window.__pixelgrad.status === 'ready');
      const adapter = await page.evaluate(() => window.__pixelgrad.adapter());
      const side = adapter?.isSoftware ? 256 : 512;
      expect(await page.evaluate(() => window.__pixelgrad.size())).toEqual([side, (side * 320) / 512]);
      await expect(page.locator('#size')).toHaveValue(String(side));
      // 128 and 256 are offered; sizes above the 512 px sample are disabled and say why.
      for (const v of ['128', '256', '512']) await expect(page.locator(`#size option[value="${v}"]`)).toBeEnabled();
      for (const v of ['768', '1024']) {
        await expect(page.locator(`#size option[value="${v}"]`)).toBeDisabled();
        await expect(page.locator(`#size option[value="${v}"]`)).toContainText('above the photo');
      }
      expect(errors).toEqual([]);
    });

    test(`the readouts and the chart show the same step, every frame${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open({ autostart: '1' });
      await page.waitForFunction(() => window.__pixelgrad.stepShown >= 6);
      // Sample 20 frames while training: the step readout, the run bar and the chart agree in each.
      const frames = await page.evaluate(async () => {
        const seen: [string, string, number][] = [];
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          seen.push([document.querySelector('#r-step')!.textContent!, document.querySelector('#run-step')!.textContent!, window.__pixelgrad.plotStep]);
        }
        return seen;
      });
      for (const [readout, bar, chart] of frames) {
        expect(readout).toBe(bar);
        expect(Number(readout)).toBe(chart);
      }
      expect(new Set(frames.map((f) => f[0])).size).toBeGreaterThan(1);
      expect(errors).toEqual([]);
    });
  });
}

/**
 * The ladybird's red, measured from demo/public/samples/ladybird.jpg: the mean of its 203
 * pixels with r > 120/255 and r > 2.2·g and r > 2.2·b (all at x 340-381, y 143-164 of 512×320).
 */
const LADYBIRD_RED = [0.8046, 0.3209, 0.0326];

for (const [size, tag] of SIZES) {
  test.describe(`a palette that finds the salient colours, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });

    /**
     * It also takes the README's pictures of this state, the desktop one pointing at the red's
     * swatch so that its pixels light up: attached to the report, and with PIXELGRAD_DOCS=1
     * written to docs/demo-desktop.png and docs/demo-phone.png.
     */
    test(`at K = 6 a swatch lies within ΔE76 25 of the ladybird red after 300 steps${tag}`, async ({ demo }, testInfo) => {
      // 300 steps on SwiftShader take about a minute.
      test.setTimeout(180_000);
      const { page, errors } = demo;
      await demo.open({ sample: 'ladybird', k: '6', size: '256' });
      await page.evaluate(() => window.__pixelgrad.runSteps(300));
      const learned = await page.evaluate(() => window.__pixelgrad.palette());
      const red = learned.map((c) => deltaE76(c, LADYBIRD_RED)).reduce((best, d, i, all) => (d < all[best]! ? i : best), 0);
      if (size === 'desktop') {
        await page.locator('#swatches .swatch').nth(red).hover();
        await expect.poll(() => page.evaluate(() => window.__pixelgrad.spotlight)).toBe(red);
      }
      const shot = await page.screenshot({ scale: 'css' });
      await testInfo.attach(`demo-${size}.png`, { body: shot, contentType: 'image/png' });
      if (process.env.PIXELGRAD_DOCS === '1') writeFileSync(new URL(`../docs/demo-${size}.png`, import.meta.url), shot);
      // The palette as the user gets it: exported, in hex.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-palette').click()]);
      const chunks: Buffer[] = [];
      for await (const c of await download.createReadStream()) chunks.push(c as Buffer);
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { step: number; palette: string[] };
      expect(json.step).toBe(300);
      const distances = json.palette.map((hex) => deltaE76(hexToRgb(hex), LADYBIRD_RED));
      const nearest = Math.min(...distances);
      test.info().annotations.push({ type: 'ΔE76 to the ladybird red', description: `${nearest.toFixed(1)} (palette ${json.palette.join(' ')})` });
      expect(nearest).toBeLessThan(25);
      expect(distances.indexOf(nearest)).toBe(red);
      expect(errors).toEqual([]);
    });
  });
}

// The seeding reads the photo's colours, not the layout: desktop size only.
test.describe('a palette that finds the salient colours from the start', () => {
  test('the starting palette has the ladybird red whatever the seed', async ({ demo }) => {
    const { page, errors } = demo;
    const nearest: number[] = [];
    for (const seed of ['2', '3', '4', '5', '6']) {
      await demo.open({ sample: 'ladybird', k: '6', size: '256', seed });
      const palette = await page.evaluate(() => window.__pixelgrad.palette());
      nearest.push(Math.min(...palette.map((c) => deltaE76(c, LADYBIRD_RED))));
    }
    test.info().annotations.push({ type: 'ΔE76 at step 0, seeds 2-6', description: nearest.map((d) => d.toFixed(1)).join(' ') });
    for (const d of nearest) expect(d).toBeLessThan(25);
    expect(errors).toEqual([]);
  });
});

for (const [size, tag] of SIZES) {
  test.describe(`settings, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });
    test(`a setting that needs a restart says so and restarts cleanly${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.evaluate(() => window.__pixelgrad.runSteps(4));
      await expect(page.locator('#start')).toHaveText('Resume');
      await page.locator('#k').fill('4');
      await page.locator('#k').dispatchEvent('change');
      await expect(page.locator('#message')).toContainText('K is now 4: training starts again from step 0');
      // Said where it is read: on a phone the settings are far below the top of the page.
      await expect(page.locator('#message')).toBeInViewport({ ratio: 1 });
      await expect(page.locator('#start')).toHaveText('Start');
      await expect(page.locator('#swatches input[type=color]')).toHaveCount(4);
      await expect(page.locator('#r-step')).toHaveText('0');
      await page.locator('#seed').fill('7');
      await page.locator('#seed').dispatchEvent('change');
      await expect(page.locator('#message')).toContainText('Seed is now 7: training starts again from step 0');
      await expect(page.locator('#message')).toBeInViewport({ ratio: 1 });
      // A restart while running keeps running.
      await page.locator('#start').click();
      await expect(page.locator('#start')).toHaveText('Pause');
      await page.locator('#reset').click();
      await expect(page.locator('#start')).toHaveText('Pause');
      await page.locator('#start').click();
      expect(new URL(page.url()).searchParams.get('k')).toBe('4');
      expect(new URL(page.url()).searchParams.get('seed')).toBe('7');
      expect(errors).toEqual([]);
    });

    test(`each optimizer keeps its own learning rate, and SGD trains at its default${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await expect(page.locator('#lr-out')).toHaveText('0.05');
      await page.locator('#optimizer').selectOption('sgd');
      await expect(page.locator('#lr-out')).toHaveText('2');
      const sgd = await page.evaluate(async () => {
        const h = window.__pixelgrad;
        await h.runSteps(40);
        return { first: h.lossAt(1)!, last: h.lossAt(40)! };
      });
      test.info().annotations.push({ type: 'SGD loss', description: `step 1: ${sgd.first}, step 40: ${sgd.last}` });
      expect(sgd.last).toBeLessThan(0.6 * sgd.first);
      await page.locator('#lr').fill('-0.5');
      await expect(page.locator('#lr-out')).toHaveText('0.32');
      await page.locator('#optimizer').selectOption('adam');
      await expect(page.locator('#lr-out')).toHaveText('0.05');
      await page.locator('#optimizer').selectOption('sgd');
      await expect(page.locator('#lr-out')).toHaveText('0.32');
      expect(new URL(page.url()).searchParams.get('lr')).toBe('0.32');
      expect(new URL(page.url()).searchParams.get('optimizer')).toBe('sgd');
      expect(errors).toEqual([]);
    });

    test(`out-of-range URL values are clamped with a visible notice, and the URL records the settings${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open({ k: '40', lr: '50', spf: '0', sparsity: 'lots' });
      const notice = page.locator('#notice');
      await expect(notice).toBeInViewport({ ratio: 1 });
      await expect(notice).toContainText('k=40 is outside 2–16');
      await expect(notice).toContainText('lr=50 is outside 0.001–10');
      await expect(notice).toContainText('spf=0 is outside 1–8');
      await expect(notice).toContainText('sparsity=lots is not a number');
      expect(await page.evaluate(() => window.__pixelgrad.k)).toBe(16);
      await expect(page.locator('#lr-out')).toHaveText('10');
      let q = new URL(page.url()).searchParams;
      expect([q.get('k'), q.get('lr'), q.get('spf'), q.get('sparsity'), q.get('size')]).toEqual(['16', '10', '1', '0.001', '128']);
      await page.locator('#smoothness').fill('0.25');
      await page.locator('#spf').fill('5');
      q = new URL(page.url()).searchParams;
      expect([q.get('smoothness'), q.get('spf')]).toEqual(['0.25', '5']);
      // The recorded URL opens the same settings, with no notice.
      await page.goto(page.url());
      await page.waitForFunction(() => window.__pixelgrad?.status === 'ready');
      const s = await page.evaluate(() => window.__pixelgrad.settings());
      expect([s.k, s.smoothness, s.stepsPerFrame, s.lr.adam]).toEqual([16, 0.25, 5, 10]);
      await expect(notice).toBeHidden();
      expect(errors).toEqual([]);
    });

    test(`pooled GPU memory is given back when the photo, the size or K changes, and shown${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      const train = () =>
        page.evaluate(async () => {
          await window.__pixelgrad.runSteps(6);
          return window.__pixelgrad.memory();
        });
      await demo.open({ size: '256' });
      const big = await train();
      await page.locator('#size').selectOption('128');
      await expect(page.locator('#message')).toContainText('Long side 128 px');
      await expect(page.locator('#message')).toBeInViewport({ ratio: 1 });
      const small = await train();
      expect(small.bytesPooled).toBeLessThan(big.bytesPooled / 2);
      expect(small.bytesInUse).toBeLessThan(big.bytesInUse / 2);
      // Kept, the old buffers would stay on top of the new ones: the pool could only grow.
      await page.locator('#k').fill('2');
      await page.locator('#k').dispatchEvent('change');
      const fewer = await train();
      expect(fewer.bytesPooled).toBeLessThan(small.bytesPooled);
      await page.evaluate(() => window.__pixelgrad.loadImage(Object.assign(document.createElement('canvas'), { width: 32, height: 20 }), 'tiny.png'));
      const tiny = await train();
      expect(tiny.bytesPooled).toBeLessThan(fewer.bytesPooled / 2);
      test.info().annotations.push({
        type: 'pool (bytes pooled / in use)',
        description: `256 px: ${big.bytesPooled} / ${big.bytesInUse}; 128 px: ${small.bytesPooled} / ${small.bytesInUse}; K = 2: ${fewer.bytesPooled} / ${fewer.bytesInUse}; 32×20 photo: ${tiny.bytesPooled} / ${tiny.bytesInUse}`,
      });
      // The readout shows what the pool holds now.
      const kib = Math.round(tiny.bytesPooled / 1024);
      await expect(page.locator('#r-pooled')).toHaveText(`${kib} KiB`);
      expect(errors).toEqual([]);
    });
  });
}

for (const [size, tag] of SIZES) {
  test.describe(`accessibility, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });
    test(`axe finds no serious or critical violations, and every canvas is labelled${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.evaluate(() => window.__pixelgrad.runSteps(4));
      const unlabelled = await page.$$eval('canvas', (cs) =>
        cs.filter((c) => c.getAttribute('aria-hidden') !== 'true' && !(c.getAttribute('role') === 'img' && c.getAttribute('aria-label'))).map((c) => c.id || c.outerHTML.slice(0, 80)),
      );
      expect(unlabelled).toEqual([]);
      const results = await new AxeBuilder({ page }).include('body').analyze();
      const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      test.info().annotations.push({ type: 'axe', description: `${results.violations.length} violations (${results.violations.map((v) => `${v.id}:${v.impact}`).join(', ') || 'none'})` });
      expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
      expect(errors).toEqual([]);
    });

    test(`the keyboard reaches every control, with a visible focus, and opens the palette import${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      const reached = new Set<string>();
      let importFocused = false;
      for (let i = 0; i < 80 && !importFocused; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const e = document.activeElement as HTMLElement;
          const style = getComputedStyle(e);
          const box = getComputedStyle(e.closest('.dropzone') ?? e);
          return { id: e.id, cls: e.className, outline: style.outlineStyle !== 'none' || box.outlineStyle !== 'none' };
        });
        reached.add(f.id || f.cls);
        expect(f.outline, `focus on ${f.id || f.cls} is visible`).toBe(true);
        importFocused = f.id === 'import-button';
      }
      for (const id of ['start', 'step', 'reset', 'compare', 'file', 'size', 'k', 'lr', 'import-button']) expect([...reached]).toContain(id);
      expect([...reached]).toContain('layer');
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
      await chooser.setFiles({ name: 'p.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(['#ff0000', '#00ff00', '#0000ff', '#ffff00', '#00ffff', '#ff00ff'])) });
      await expect(page.locator('#message')).toContainText('Recoloured with the 6 colours');
      expect(errors).toEqual([]);
    });

    test(`no autostart when the system asks for reduced motion${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await page.emulateMedia({ reducedMotion: 'reduce' });
      await page.goto('/?size=128');
      await page.waitForFunction(() => window.__pixelgrad?.status === 'ready');
      await expect(page.locator('#message')).toContainText('reduced motion');
      await page.waitForTimeout(1500);
      expect(await page.evaluate(() => [window.__pixelgrad.running, window.__pixelgrad.step])).toEqual([false, 0]);
      await expect(page.locator('#start')).toHaveText('Start');
      expect(errors).toEqual([]);
    });

    test(`a transparent PNG is composited over the chosen background, with a notice${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      const corner = () => page.evaluate(() => Array.from((document.querySelector('#view-photo') as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 1, 1).data));
      await page.evaluate(async () => {
        // Left half transparent, right half opaque blue.
        const c = Object.assign(document.createElement('canvas'), { width: 64, height: 40 });
        const ctx = c.getContext('2d')!;
        ctx.fillStyle = '#0000ff';
        ctx.fillRect(32, 0, 32, 40);
        await window.__pixelgrad.loadImage(c, 'cutout.png');
      });
      await expect(page.locator('#notice')).toContainText('“cutout.png” has 1280 transparent or translucent pixels');
      await expect(page.locator('#notice')).toContainText('#ffffff');
      expect(await corner()).toEqual([255, 255, 255, 255]);
      await page.locator('#background').evaluate((e: HTMLInputElement) => {
        e.value = '#204060';
        e.dispatchEvent(new Event('change'));
      });
      expect(await corner()).toEqual([0x20, 0x40, 0x60, 255]);
      await expect(page.locator('#notice')).toContainText('#204060');
      await expect(page.locator('#message')).toContainText('Background #204060: training starts again from step 0');
      await expect(page.locator('#message')).toBeInViewport({ ratio: 1 });
      expect(errors).toEqual([]);
    });
  });
}

for (const [size, tag] of SIZES) {
  test.describe(`explanation and polish, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });
    test(`tooltips explain λ and steps per frame, and the error map has a colour bar${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      for (const [id, text] of [
        ['#sparsity', 'one colour'],
        ['#smoothness', 'neighbouring pixels'],
        ['#spf', 'between two redraws'],
      ] as const) {
        await expect(page.locator(id)).toHaveAccessibleDescription(new RegExp(text));
      }
      await expect(page.locator('.colorbar')).toBeVisible();
      await expect(page.locator('.colorbar')).toHaveAccessibleName(/black is no error/);
      expect(errors).toEqual([]);
    });

    test(`training pauses itself when it converges, unless told to keep going${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      // A flat photo without the sparsity term: the error falls below 1e-6 within ~50 steps.
      await demo.open({ sparsity: '0' });
      const flat = async () =>
        page.evaluate(async () => {
          const c = Object.assign(document.createElement('canvas'), { width: 32, height: 20 });
          const ctx = c.getContext('2d')!;
          ctx.fillStyle = '#3366cc';
          ctx.fillRect(0, 0, 32, 20);
          await window.__pixelgrad.loadImage(c, 'flat.png');
          window.__pixelgrad.start();
        });
      await flat();
      await page.waitForFunction(() => window.__pixelgrad.convergedAt !== null, null, { timeout: 60_000 });
      await expectOnFirstScreen(page, page.locator('#converged'));
      await expect(page.locator('#start')).toHaveText('Resume');
      await expect(page.locator('#message')).toContainText('Converged at step');
      await expect(page.locator('#message')).toBeInViewport({ ratio: 1 });
      expect(await page.evaluate(() => window.__pixelgrad.running)).toBe(false);
      // With "keep training" on, it says converged and goes on.
      await page.locator('#keep-going').check();
      await flat();
      await page.waitForFunction(() => window.__pixelgrad.convergedAt !== null, null, { timeout: 60_000 });
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => window.__pixelgrad.running)).toBe(true);
      await page.evaluate(() => window.__pixelgrad.pause());
      expect(new URL(page.url()).searchParams.get('keep')).toBe('1');
      expect(errors).toEqual([]);
    });

    test(`Space, S and R drive training, listed in a help popover${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.locator('h1').click();
      await page.keyboard.press('?');
      await expect(page.locator('#help')).toBeVisible();
      await expect(page.locator('#help')).toContainText('start or pause');
      await expectOnFirstScreen(page, page.locator('#help'));
      await page.keyboard.press('Escape');
      await expect(page.locator('#help')).toBeHidden();
      await page.locator('h1').click();
      await page.keyboard.press('s');
      await page.waitForFunction(() => window.__pixelgrad.stepShown === 1);
      await page.keyboard.press(' ');
      await expect(page.locator('#start')).toHaveText('Pause');
      await page.waitForFunction(() => window.__pixelgrad.step >= 5);
      await page.keyboard.press(' ');
      await expect(page.locator('#start')).toHaveText('Resume');
      await page.keyboard.press('r');
      await expect(page.locator('#r-step')).toHaveText('0');
      await expect(page.locator('#start')).toHaveText('Start');
      // Typing in a field is not a shortcut.
      await page.locator('#seed').focus();
      await page.keyboard.press('s');
      expect(await page.evaluate(() => window.__pixelgrad.step)).toBe(0);
      expect(errors).toEqual([]);
    });

    test(`a before/after slider on the reconstruction, and a swatch highlights its weight map${tag}`, async ({ demo }) => {
      const { page, errors } = demo;
      await demo.open();
      await page.evaluate(() => window.__pixelgrad.runSteps(10));
      const before = page.locator('#view-before');
      await expect(before).toBeHidden();
      await page.locator('#compare').fill('40');
      await expect(before).toBeVisible();
      expect(await before.evaluate((e) => getComputedStyle(e).clipPath)).toContain('60%');
      expect(await before.evaluate((e: HTMLCanvasElement) => [e.width, e.height])).toEqual([128, 80]);
      await page.locator('#swatches .swatch').nth(2).hover();
      await expect(page.locator('#weightmaps figure').nth(2)).toHaveClass(/highlight/);
      await expect(page.locator('#weightmaps figure').nth(0)).toHaveClass(/dim/);
      await page.locator('h1').hover();
      await expect(page.locator('#weightmaps figure.dim')).toHaveCount(0);
      expect(errors).toEqual([]);
    });
  });
}

for (const [size, tag] of SIZES) {
  test.describe(`the seed page, ${size}`, () => {
    if (size === 'desktop') test.use({ viewport: { width: 1440, height: 900 } });
    test(`code wraps as code, small numbers read in scientific notation, one step at a time${tag}`, async ({ page }) => {
      await page.goto('/seed.html');
      await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
      const code = await page.locator('pre.code').evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth, height: e.clientHeight }));
      expect(code.scroll).toBeLessThanOrEqual(code.client);
      expect(code.height).toBeGreaterThan(150);
      // A fast double click takes one step, with the gradient of the values it starts from.
      await page.locator('#descend').dblclick();
      await expect(page.locator('body')).not.toHaveAttribute('data-busy', 'true');
      await expect(page.locator('#v-c1')).toHaveText('0.2600');
      await expect(page.locator('#v-c2')).toHaveText('0.7400');
      for (let i = 0; i < 8; i++) {
        await page.locator('#descend').click();
        await expect(page.locator('#descend')).toBeEnabled();
      }
      await expect(page.locator('#grad-c1')).toHaveText(/^-?\d\.\d\de-\d/);
      await expect(page.locator('#v-loss')).toHaveText(/^\d\.\d\de-\d/);
    });
  });
}
