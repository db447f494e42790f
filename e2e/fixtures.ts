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
