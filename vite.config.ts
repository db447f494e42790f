import { defineConfig } from 'vite';

// Library mode: one ES module with every shaders/*.wgsl inlined through `?raw` imports.
export default defineConfig({
  build: {
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'index.js' },
    outDir: 'dist',
    sourcemap: true,
    target: 'es2022',
    emptyOutDir: true,
  },
});
