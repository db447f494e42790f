import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// `vite demo` / `vite build demo` / `vite preview demo` all read this file (root = demo/).
export default defineConfig({
  root: here('.'),
  base: './',
  resolve: { alias: [{ find: /^pixelgrad$/, replacement: here('../src/index.ts') }] },
  // The library's source and shaders live above the demo root.
  server: { fs: { allow: [here('..')] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: { input: { main: here('index.html'), seed: here('seed.html'), render: here('render.html') } },
  },
});
