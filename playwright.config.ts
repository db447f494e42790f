import { defineConfig } from '@playwright/test';
import { chromiumPath, noWebgpuArgs, webgpuArgs } from './scripts/chromium.ts';

const PORT = 4173;
const executablePath = chromiumPath();

/**
 * End-to-end tests of the demo (e2e/). The web server builds the demo and serves the build with
 * `vite preview`. Project 'e2e' runs in a Chromium with WebGPU (SwiftShader unless
 * PIXELGRAD_GPU=hardware); project 'e2e-nowebgpu' runs the @nowebgpu tests in the same browser
 * without --enable-unsafe-webgpu, where requestAdapter() resolves to null.
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
      grepInvert: /@nowebgpu/,
      use: { launchOptions: { executablePath, args: webgpuArgs() } },
    },
    {
      name: 'e2e-nowebgpu',
      grep: /@nowebgpu/,
      use: { launchOptions: { executablePath, args: noWebgpuArgs } },
    },
  ],
});
