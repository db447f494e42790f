/** The engines and workloads the bench knows, with no imports, so the command line can check names without loading any engine. */

export type EngineName = 'pixelgrad' | 'raw' | 'tfjs' | 'jax' | 'js';
export const ENGINES: readonly EngineName[] = ['pixelgrad', 'raw', 'tfjs', 'jax', 'js'];
/** Engines that run on WebGPU and are not pixelgrad itself. */
export const WEBGPU_PEERS: readonly EngineName[] = ['tfjs', 'jax'];
export const WORKLOADS = ['roofline', 'seed', 'palette', 'layers', 'palette-plain', 'layers-plain', 'tone', 'tv', 'mlp', 'matmul', 'conv'] as const;
