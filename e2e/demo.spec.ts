import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures.ts';

test.describe('palette demo', () => {
  test('loads, trains on its own and logs no console errors', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open({ autostart: '1' });
    await expect(page.locator('#adapter')).not.toHaveText(/starting/);
    await page.waitForFunction(() => window.__pixelgrad.step >= 10 && window.__pixelgrad.loss !== null);
    await expect(page.locator('#r-step')).not.toHaveText('0');
    await expect(page.locator('#start')).toHaveText('Pause');
    await expect(page.locator('#swatches input[type=color]')).toHaveCount(6);
    await expect(page.locator('#weightmaps canvas')).toHaveCount(6);
    await expect(page.locator('#plot .uplot')).toBeVisible();
    const mem = await page.evaluate(() => window.__pixelgrad.memory());
    expect(mem.uncapturedErrors).toBe(0);
    expect(errors).toEqual([]);
  });

  test('200 steps halve the loss, with memory flat from step 100 to 200', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    const at100 = await page.evaluate(async () => {
      await window.__pixelgrad.runSteps(100);
      return window.__pixelgrad.memory();
    });
    const at200 = await page.evaluate(async () => {
      await window.__pixelgrad.runSteps(100);
      return window.__pixelgrad.memory();
    });
    const { step, loss10, loss200, palette } = await page.evaluate(() => ({
      step: window.__pixelgrad.step,
      loss10: window.__pixelgrad.lossAt(10),
      loss200: window.__pixelgrad.lossAt(200),
      palette: window.__pixelgrad.palette(),
    }));
    expect(step).toBe(200);
    expect(loss10).toBeGreaterThan(0);
    expect(loss200).toBeLessThan(0.5 * loss10!);
    expect(palette).toHaveLength(6);
    for (const c of palette.flat()) {
      expect(Number.isFinite(c)).toBe(true);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
    }
    expect(at200.liveTensors).toBe(at100.liveTensors);
    expect(at200.bytesInUse).toBe(at100.bytesInUse);
    expect(at200.uncapturedErrors).toBe(0);
    test.info().annotations.push({ type: 'loss', description: `step 10: ${loss10}, step 200: ${loss200}` });
    expect(errors).toEqual([]);
  });

  test('editing a swatch recolours the image at once', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    await page.evaluate(() => window.__pixelgrad.runSteps(40));
    const before = await page.evaluate(() => window.__pixelgrad.recoloredMean());
    const swatch = page.locator('#swatches input[type=color]').first();
    await swatch.fill('#ff00ff');
    await expect(page.locator('#swatches .swatch').first()).toHaveClass(/edited/);
    await expect(page.locator('#swatches .swatch .hex').first()).toHaveText('#ff00ff');
    const after = await page.evaluate(() => window.__pixelgrad.recoloredMean());
    const moved = after.reduce((s, v, i) => s + Math.abs(v - before[i]!), 0);
    expect(moved).toBeGreaterThan(1e-3);
    // The undo button goes back to the learned colour.
    await page.locator('#reset-colours').click();
    const undone = await page.evaluate(() => window.__pixelgrad.recoloredMean());
    expect(undone.reduce((s, v, i) => s + Math.abs(v - before[i]!), 0)).toBeLessThan(1e-4);
    expect(errors).toEqual([]);
  });

  test('screenshot of the demo after training', async ({ demo }, testInfo) => {
    const { page, errors } = demo;
    await demo.open({ sample: 'garden' });
    await page.evaluate(() => window.__pixelgrad.runSteps(100));
    await page.waitForTimeout(300);
    const shot = await page.screenshot({ fullPage: true });
    await testInfo.attach('demo', { body: shot, contentType: 'image/png' });
    await page.screenshot({ path: testInfo.outputPath('demo.png'), fullPage: true });
    // A blank canvas compresses to almost nothing; a drawn reconstruction does not.
    const recon = await page.locator('#view-recon').screenshot();
    await testInfo.attach('reconstruction', { body: recon, contentType: 'image/png' });
    expect(recon.length).toBeGreaterThan(5_000);
    expect(errors).toEqual([]);
  });

  test('bad inputs show a clear message and training still works', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    const message = page.locator('#message');
    const file = page.locator('#file');

    await file.setInputFiles({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });
    await expect(message).toBeVisible();
    await expect(message).toContainText('“empty.png” is empty');

    await file.setInputFiles({ name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('\xff\xd8\xff\xe0 definitely not a JPEG body', 'latin1') });
    await expect(message).toContainText('Could not decode “broken.jpg”');

    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect(message).toContainText('“notes.txt” is not an image');

    await page.evaluate(() => window.__pixelgrad.loadImage(Object.assign(document.createElement('canvas'), { width: 0, height: 0 }), 'zero.png'));
    await expect(message).toContainText('0×0 pixels');

    await page.locator('#k').fill('40');
    await page.locator('#k').dispatchEvent('change');
    await expect(message).toContainText('K must be a whole number from 2 to 16');
    await expect(page.locator('#k')).toHaveValue('6');

    await page.locator('#import-palette').setInputFiles({
      name: 'three.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify({ palette: ['#ff0000', '#00ff00', '#0000ff'] })),
    });
    await expect(message).toContainText('has 3 colours but the model has K = 6');

    // The photo and model from before are still there, and training goes on.
    const result = await page.evaluate(async () => {
      const h = window.__pixelgrad;
      await h.runSteps(30);
      return { status: h.status, step: h.step, size: h.size(), first: h.lossAt(1)!, last: h.lossAt(30)! };
    });
    expect(result.status).toBe('ready');
    expect(result.step).toBe(30);
    expect(result.size).toEqual([128, 80]);
    expect(result.last).toBeLessThan(result.first);
    expect(errors).toEqual([]);
  });

  test('a photo dropped on the page replaces the sample', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    const jpeg = readFileSync(new URL('../demo/public/samples/dune.jpg', import.meta.url)).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], 'my-dune.jpg', { type: 'image/jpeg' }));
      return dt;
    }, jpeg);
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
    await expect(page.locator('#photo-info')).toContainText('my-dune.jpg: 128×80 px');
    const step = await page.evaluate(async () => {
      await window.__pixelgrad.runSteps(4);
      return window.__pixelgrad.step;
    });
    expect(step).toBe(4);
    expect(errors).toEqual([]);
  });

  test('exports the palette as JSON and the images as PNG', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    await page.evaluate(() => window.__pixelgrad.runSteps(10));
    const save = async (button: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(button).click()]);
      const stream = await download.createReadStream();
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return { name: download.suggestedFilename(), body: Buffer.concat(chunks) };
    };
    const palette = await save('#export-palette');
    expect(palette.name).toBe('palette-k6.json');
    const json = JSON.parse(palette.body.toString('utf8'));
    expect(json.k).toBe(6);
    expect(json.step).toBe(10);
    expect(json.palette).toHaveLength(6);
    for (const hex of json.palette) expect(hex).toMatch(/^#[0-9a-f]{6}$/);
    const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
    for (const [button, name] of [
      ['#export-recon', 'reconstruction.png'],
      ['#export-recolor', 'recoloured.png'],
      ['#export-layers', 'layers-k6.png'],
      ['#export-poster', 'posterized.png'],
    ]) {
      const png = await save(button!);
      expect(png.name).toBe(name);
      expect(png.body.subarray(0, 4).equals(pngSignature)).toBe(true);
    }
    // Posterized, once the colours have split the photo: every pixel is one of the K palette
    // colours (the argmax of its weights), and more than one colour owns pixels.
    await page.evaluate(() => window.__pixelgrad.runSteps(90));
    const poster = await save('#export-poster');
    const colours = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const ctx = new OffscreenCanvas(bmp.width, bmp.height).getContext('2d')!;
      ctx.drawImage(bmp, 0, 0);
      const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
      const seen = new Set<string>();
      for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      return [...seen];
    }, poster.body.toString('base64'));
    expect(colours.length).toBeGreaterThan(1);
    expect(colours.length).toBeLessThanOrEqual(6);
    expect(errors).toEqual([]);
  });

  test('the perceptual (Lab) colour error trains, keeps memory flat and is in the URL', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open({ error: 'lab' });
    await expect(page.locator('#colour-error')).toHaveValue('lab');
    const at40 = await page.evaluate(async () => {
      await window.__pixelgrad.runSteps(40);
      return window.__pixelgrad.memory();
    });
    const at80 = await page.evaluate(async () => {
      await window.__pixelgrad.runSteps(40);
      return window.__pixelgrad.memory();
    });
    const [first, last] = await page.evaluate(() => [window.__pixelgrad.lossAt(2), window.__pixelgrad.lossAt(80)]);
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(0.7 * first!);
    expect(at80.liveTensors).toBe(at40.liveTensors);
    expect(at80.bytesInUse).toBe(at40.bytesInUse);
    // Back to sRGB while trained: the URL follows, the loss stays finite.
    await page.locator('#colour-error').selectOption('rgb');
    await expect(page).not.toHaveURL(/error=lab/);
    await page.evaluate(() => window.__pixelgrad.runSteps(5));
    expect(Number.isFinite(await page.evaluate(() => window.__pixelgrad.loss))).toBe(true);
    expect(errors).toEqual([]);
  });

  test('a lost device shows a banner, and Restart trains again', async ({ demo }) => {
    const { page, errors } = demo;
    await demo.open();
    await page.evaluate(() => window.__pixelgrad.runSteps(5));
    await page.evaluate(() => window.__pixelgrad.loseDevice());
    const banner = page.locator('#banner');
    await expect(banner).toBeVisible();
    await expect(banner).toContainText('GPU device was lost');
    await page.locator('#banner-action').click();
    await expect(banner).toBeHidden();
    // Restart builds a new model on a new device and trains on.
    await page.waitForFunction(() => window.__pixelgrad.status === 'ready' && window.__pixelgrad.step >= 10 && window.__pixelgrad.loss !== null);
    expect(Number.isFinite(await page.evaluate(() => window.__pixelgrad.loss))).toBe(true);
    expect(errors).toEqual([]);
  });
});

test.describe('two-ingredient example', () => {
  test('seed page shows the gradients -0.12 and -0.08', async ({ page }) => {
    await page.goto('/seed.html');
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.locator('#grad-c1')).toContainText('-0.12');
    await expect(page.locator('#grad-c2')).toContainText('-0.08');
    await expect(page.locator('#seed-status')).toContainText('WebGPU');
  });
});

test.describe('a tensor in a render loop', () => {
  test('render page draws a pixelgrad tensor from its GPU buffer, frame after frame', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto('/render.html');
    await page.waitForFunction(() => Number(document.getElementById('render-status')?.dataset.frames ?? 0) >= 10);
    await expect(page.locator('#render-status')).toContainText('frames/s');
    // What the canvas shows: dark background and bright blobs, so the field reached the fragment shader.
    // (Copied in an animation frame callback after the page's: a WebGPU canvas reads back only before it is presented.)
    const [dark, bright] = await page.evaluate(
      () =>
        new Promise<[number, number]>((resolve) =>
          requestAnimationFrame(() => {
            const view = document.getElementById('view') as HTMLCanvasElement;
            const copy = document.createElement('canvas');
            copy.width = view.width;
            copy.height = view.height;
            const ctx = copy.getContext('2d')!;
            ctx.drawImage(view, 0, 0);
            const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
            let lo = 255;
            let hi = 0;
            for (let i = 0; i < px.length; i += 4) {
              lo = Math.min(lo, px[i]!);
              hi = Math.max(hi, px[i]!);
            }
            resolve([lo, hi]);
          }),
        ),
    );
    expect(dark).toBeLessThan(40);
    expect(bright).toBeGreaterThan(150);
    expect(errors).toEqual([]);
  });
});

test.describe('without WebGPU', () => {
  test('the demo shows the fallback panel @nowebgpu', async ({ demo }) => {
    const { page, errors } = demo;
    await page.goto('/');
    const panel = page.locator('#fallback');
    await expect(panel).toBeVisible();
    await expect(panel).toContainText('This demo needs WebGPU');
    await expect(page.locator('#fallback-reason')).toContainText('no GPU adapter');
    await expect(page.locator('#app')).toBeHidden();
    expect(await page.evaluate(() => window.__pixelgrad.status)).toBe('no-webgpu');
    expect(errors).toEqual([]);
  });

  test('the seed page falls back to the CPU backend @nowebgpu', async ({ page }) => {
    await page.goto('/seed.html');
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.locator('#grad-c1')).toContainText('-0.12');
    await expect(page.locator('#grad-c2')).toContainText('-0.08');
    await expect(page.locator('#seed-status')).toContainText('CPU reference backend');
  });
});
