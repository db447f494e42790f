/**
 * The palette and layers steps written from plain ops, as a user writes them (no fused op): what
 * the fusing compiler must make as fast as the hand-fused kernels. The workloads' inputs, peers
 * and losses are the fused rows' own, so the ratios compare the same step.
 */
import type { EngineFactory, EngineName } from './common.ts';
import { KL, type LayersInput, LR_LAYERS, layersEngines } from './layers.ts';
import { K, LR, type PaletteInput, paletteEngines } from './palette.ts';
import { pg, plainFitInstance } from './pixelgrad-api.ts';

/** A step as users write it: residual d, loss mean(d·d), backward, step, zeroGrad, inside tidy. */
function plainFit(note: string, residual: () => pg.Tensor, opt: pg.Optimizer, owned: pg.Tensor[]) {
  const loss = () => {
    const d = residual();
    return d.mul(d).mean();
  };
  return plainFitInstance(note, loss, opt, owned);
}

const palettePlain: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T: T0 }) => {
  const n = S * S;
  const L = pg.tensor(L0, { shape: [n, K], requiresGrad: true });
  const P = pg.tensor(P0, { shape: [K, 3], requiresGrad: true });
  const T = pg.tensor(T0, { shape: [n, 3] });
  const d = () => L.softmax(-1).matmul(P).sub(T);
  return plainFit('plain ops: L.softmax(-1).matmul(P).sub(T), d.mul(d).mean(), pg.Adam', d, new pg.Adam([L, P], { lr: LR }), [L, P, T]);
};

const layersPlain: EngineFactory<LayersInput> = async ({ S, Y: Y0, c: c0, T: T0 }) => {
  const n = S * S;
  const c = pg.tensor(c0, { shape: [KL], requiresGrad: true });
  const Y = pg.tensor(Y0, { shape: [KL, n, 3] });
  const T = pg.tensor(T0, { shape: [n, 3] });
  const d = () => c.reshape([KL, 1, 1]).mul(Y).sum(0).sub(T);
  return plainFit('plain ops: c.reshape([K,1,1]).mul(Y).sum(0).sub(T), d.mul(d).mean(), pg.SGD', d, new pg.SGD([c], { lr: LR_LAYERS }), [c, Y, T]);
};

/** Peers measured beside the plain-op rows (tfjs and the JS loop are in the fused rows of the same run). */
const PEERS: readonly EngineName[] = ['raw', 'jax'];
const withPeers = <I>(pixelgrad: EngineFactory<I>, engines: Record<EngineName, EngineFactory<I>>): Partial<Record<EngineName, EngineFactory<I>>> => ({
  pixelgrad,
  ...Object.fromEntries(PEERS.map((e) => [e, engines[e]])),
});

export const palettePlainEngines = withPeers(palettePlain, paletteEngines);
export const layersPlainEngines = withPeers(layersPlain, layersEngines);
