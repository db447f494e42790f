import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { chromiumPath, webgpuArgs } from './scripts/chromium.ts';
import { wgslMinify } from './scripts/wgsl-minify.ts';

// Binary test fixtures (test/fixtures/*.safetensors) import as assets: `?inline` gives a data URL.
const assetsInclude = ['**/*.safetensors'];
// The suites load the shaders minified, as the library build does (projects do not inherit plugins).
const plugins = [wgslMinify()];

export default defineConfig({
  test: {
    projects: [
      {
        assetsInclude,
        plugins,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        assetsInclude,
        plugins,
        test: {
          name: 'browser',
          include: ['test/gpu/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                ...(chromiumPath() ? { executablePath: chromiumPath() } : {}),
                args: webgpuArgs(),
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
