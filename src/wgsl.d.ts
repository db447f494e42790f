// Vite inlines `?raw` imports as strings, both in the library build and in tests.
declare module '*.wgsl?raw' {
  const source: string;
  export default source;
}
