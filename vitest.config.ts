import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { chromiumPath, webgpuArgs } from './scripts/chromium.ts';

// Binary test fixtures (test/fixtures/*.safetensors) import as assets: `?inline` gives a data URL.
const assetsInclude = ['**/*.safetensors'];

export default defineConfig({
  test: {
    projects: [
      {
        assetsInclude,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        assetsInclude,
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
