import { defineConfig } from '@playwright/test';
import { chromiumPath, noWebgpuArgs, webgpuArgs } from './scripts/chromium.ts';

/** The preview server's port: PIXELGRAD_E2E_PORT, so that worktrees side by side each test their own build. */
const PORT = Number(process.env.PIXELGRAD_E2E_PORT ?? 4173);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) throw new Error(`PIXELGRAD_E2E_PORT=${process.env.PIXELGRAD_E2E_PORT} is not a port number`);
const executablePath = chromiumPath();

/**
 * End-to-end tests of the demo (e2e/). The web server builds the demo and serves the build with
 * `vite preview`. Project 'e2e' runs in a Chromium with WebGPU (SwiftShader unless
 * PIXELGRAD_GPU=hardware); project 'e2e-nowebgpu' runs the @nowebgpu tests in the same browser
 * without --enable-unsafe-webgpu, where requestAdapter() resolves to null.
 *
 * Project 'e2e-phone' runs the @phone tests at 390×844 with touch, like a phone held upright.
 * PIXELGRAD_E2E_PORT (default 4173) moves the server; outside CI a server already on that port is
 * reused, so pick a port of your own when another checkout may be serving there.
 *
 * CI: `PLAYWRIGHT_JSON_OUTPUT_NAME=reports/playwright.json npx playwright test --reporter=line,json`.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  // SwiftShader runs shaders on the CPU: tests that train share it, so one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [['line'], ['json', { outputFile: 'reports/playwright.json' }]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `npx vite build demo --logLevel warn && npx vite preview demo --port ${PORT} --strictPort --host 127.0.0.1`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  projects: [
    {
      name: 'e2e',
      grepInvert: /@nowebgpu|@phone/,
      use: { launchOptions: { executablePath, args: webgpuArgs() } },
    },
    {
      name: 'e2e-phone',
      grep: /@phone/,
      use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, launchOptions: { executablePath, args: webgpuArgs() } },
    },
    {
      name: 'e2e-nowebgpu',
      grep: /@nowebgpu/,
      use: { launchOptions: { executablePath, args: noWebgpuArgs } },
    },
  ],
});
