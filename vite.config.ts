import { defineConfig } from 'vite';
import { wgslMinify } from './scripts/wgsl-minify.ts';

// Library mode: one ES module with every shaders/*.wgsl inlined through `?raw` imports (so the
// package ships no shaders/ folder) and stripped of comments (scripts/wgsl-minify.ts). The source
// map maps into src/ without embedding it: the sources would be most of the package's size.
export default defineConfig({
  plugins: [wgslMinify()],
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
    outDir: 'dist',
    sourcemap: true,
    rolldownOptions: { output: { sourcemapExcludeSources: true } },
    target: 'es2022',
    emptyOutDir: true,
  },
});
