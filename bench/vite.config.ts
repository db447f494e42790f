import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The bench page: pixelgrad straight from its sources (shaders inlined through ?raw), peers from node_modules.
export default defineConfig({
  root: here('.'),
  resolve: { alias: { pixelgrad: here('../src/index.ts') } },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
