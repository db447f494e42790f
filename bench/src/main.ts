/** The bench page: initialises every engine, runs the workloads the driver asks for, returns all samples. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { defaultDevice, init as jaxInit } from '@jax-js/jax';
import { ENGINES, type EngineName, errorText, log, now } from './common.ts';
import { requestAdapter } from './gpu.ts';
import { type CaseResult, type Hints, type RunConfig, runCase } from './harness.ts';
import { layersEngines, layersInput } from './layers.ts';
import { matmulEngines, matmulInput } from './matmul.ts';
import { convEngines, convInput } from './conv.ts';
import { paletteEngines, paletteInput } from './palette.ts';
import { layersPlainEngines, palettePlainEngines } from './plain.ts';
import { initPixelgrad } from './pixelgrad-api.ts';
import { installBindGroupSizes } from './profile.ts';
import { measureRoofline, type RooflineResult } from './roofline.ts';
import { seedEagerEngines, seedEngines } from './seed.ts';
import { mlpEngines, mlpInput } from './mlp.ts';
import { toneEngines, toneInput } from './tone.ts';
import { tvEngines, tvInput } from './tv.ts';

export interface BenchConfig {
  readonly workloads: readonly string[];
  readonly paletteSizes: readonly number[];
  readonly layersSizes: readonly number[];
  readonly toneSizes: readonly number[];
  readonly tvSizes: readonly number[];
  /** Image sides S of the per-pixel network (3 → 16 → 3). */
  readonly mlpSizes: readonly number[];
  readonly matmulSizes: readonly number[];
  /** Image sides S of the conv workload (3×3, 16 → 16 channels). */
  readonly convSizes: readonly number[];
  readonly run: RunConfig;
  /** Overrides for the seed workload (many cheap iterations). */
  readonly seedRun: RunConfig;
  readonly matmulRun: RunConfig;
  readonly rooflineReps: number;
  /** Replay-profile every size, or only the largest of each workload (quick mode). */
  readonly profileAllSizes: boolean;
  readonly engines: readonly EngineName[];
}

export interface BenchResult {
  adapter: Record<string, unknown>;
  engineInit: Partial<Record<EngineName, string>>;
  roofline: { start?: RooflineResult; end?: RooflineResult };
  cases: CaseResult[];
  /** One-size-down calibration runs (2 steps per engine) that predict whether a size fits an engine's budget; not in the table. */
  probes: CaseResult[];
  userAgent: string;
  crossOriginIsolated: boolean;
  totalMs: number;
}

export async function describeAdapter(): Promise<Record<string, unknown>> {
  const a = await requestAdapter();
  const info = a.info;
  const limits: Record<string, number> = {};
  for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension'] as const) {
    limits[k] = a.limits[k];
  }
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? null,
    features: [...a.features].sort(),
    limits,
  };
}

async function initEngines(wanted: readonly EngineName[]): Promise<[EngineName[], Partial<Record<EngineName, string>>]> {
  const status: Partial<Record<EngineName, string>> = {};
  const ok: EngineName[] = [];
  for (const e of wanted) {
    try {
      if (e === 'pixelgrad') await initPixelgrad();
      if (e === 'tfjs') {
        if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
        await tf.ready();
        if (tf.getBackend() !== 'webgpu') throw new Error(`tfjs backend is ${tf.getBackend()}`);
      }
      if (e === 'jax') {
        const devices = await jaxInit('webgpu');
        if (!devices.includes('webgpu')) throw new Error(`jax-js devices: ${devices.join(', ') || 'none'}`);
        defaultDevice('webgpu');
      }
      status[e] = 'ok';
      ok.push(e);
    } catch (err) {
      status[e] = errorText(err);
      log(`${e} unavailable: ${status[e]}`);
    }
  }
  return [ok, status];
}

function scaled(h: Hints, ratio: number): Hints {
  const out: Hints = {};
  for (const [e, v] of Object.entries(h)) out[e as EngineName] = v * ratio;
  return out;
}

export async function runBench(cfg: BenchConfig): Promise<BenchResult> {
  const t0 = now();
  installBindGroupSizes();
  const adapter = await describeAdapter();
  log(`adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.description ?? ''}`);
  const [engines, engineInit] = await initEngines(cfg.engines.length ? cfg.engines : ENGINES);
  const cases: CaseResult[] = [];
  const probes: CaseResult[] = [];
  const roofline: BenchResult['roofline'] = {};
  const want = (w: string) => cfg.workloads.includes(w);
  /**
   * Two steps per engine at a smaller size, so that an engine whose first step at the real size
   * would take minutes (tfjs-webgpu on SwiftShader) is predicted out instead of waited on.
   */
  const probe = async <I>(workload: string, size: number, label: string, input: I, factories: Parameters<typeof runCase<I>>[4], run: RunConfig): Promise<Hints> => {
    const hints: Hints = {};
    probes.push(await runCase(`${workload} (probe)`, size, label, input, factories, engines, { ...run, reps: 0, checkSteps: 2, profile: false }, hints));
    return hints;
  };
  const profiled = (run: RunConfig, size: number, sizes: readonly number[]): RunConfig => ({
    ...run,
    profile: run.profile && (cfg.profileAllSizes || size === Math.max(...sizes)),
  });

  if (want('roofline')) {
    log('roofline (start)');
    roofline.start = await measureRoofline(cfg.rooflineReps);
    log(`  kernel ${roofline.start.kernelGBs.toFixed(2)} GB/s, copyBufferToBuffer ${roofline.start.copyGBs.toFixed(2)} GB/s`);
  }
  if (want('seed')) {
    log('seed');
    cases.push(await runCase('seed', 1, 'README example, pg.compile', { c1: 0.2, c2: 0.7 }, seedEngines, engines, cfg.seedRun, {}));
    cases.push(await runCase('seed', 2, 'README example, eager', { c1: 0.2, c2: 0.7 }, seedEagerEngines, engines, cfg.seedRun, {}));
  }
  /**
   * An image workload over its sizes S: a probe at the first S / 4, then each size with hints scaled
   * from the previous one (cost grows with S²). Inputs are seeded from `seed` (probe) and `seed + S`.
   */
  const imageSweep = async <I>(workload: string, sizes: readonly number[], input: (S: number, seed: number) => I, factories: Parameters<typeof runCase<I>>[4], seed: number) => {
    let prev = sizes[0]! / 4;
    let hints = await probe(workload, prev, `S=${prev}`, input(prev, seed - 1), factories, cfg.run);
    for (const S of sizes) {
      log(`${workload} S=${S}`);
      const h = scaled(hints, (S / prev) ** 2);
      cases.push(await runCase(workload, S, `S=${S}`, input(S, seed + S), factories, engines, profiled(cfg.run, S, sizes), h));
      hints = h;
      prev = S;
    }
  };
  if (want('palette')) await imageSweep('palette', cfg.paletteSizes, paletteInput, paletteEngines, 1000);
  if (want('layers')) await imageSweep('layers', cfg.layersSizes, layersInput, layersEngines, 2000);
  if (want('palette-plain')) await imageSweep('palette (plain ops)', cfg.paletteSizes, paletteInput, palettePlainEngines, 1000);
  if (want('layers-plain')) await imageSweep('layers (plain ops)', cfg.layersSizes, layersInput, layersPlainEngines, 2000);
  if (want('tone')) await imageSweep('tone', cfg.toneSizes, toneInput, toneEngines, 4000);
  if (want('tv')) await imageSweep('tv', cfg.tvSizes, tvInput, tvEngines, 5000);
  if (want('mlp')) await imageSweep('mlp', cfg.mlpSizes, mlpInput, mlpEngines, 6000);
  if (want('matmul')) {
    for (const backward of [false, true]) {
      const name = backward ? 'matmul fwd+bwd' : 'matmul fwd';
      let prev = cfg.matmulSizes[0]! / 2;
      let hints = await probe(name, prev, `N=${prev}`, matmulInput(prev, backward, 2999), matmulEngines, cfg.matmulRun);
      for (const N of cfg.matmulSizes) {
        log(`${name} N=${N}`);
        const h = scaled(hints, (N / prev) ** 3);
        cases.push(await runCase(name, N, `N=${N}`, matmulInput(N, backward, 3000 + N), matmulEngines, engines, profiled(cfg.matmulRun, N, cfg.matmulSizes), h));
        hints = h;
        prev = N;
      }
    }
  }
  if (want('conv')) {
    for (const backward of [false, true]) {
      const name = backward ? 'conv fwd+bwd' : 'conv fwd';
      let prev = cfg.convSizes[0]! / 4;
      let hints = await probe(name, prev, `S=${prev}`, convInput(prev, backward, 5999), convEngines, cfg.matmulRun);
      for (const S of cfg.convSizes) {
        log(`${name} S=${S}`);
        const h = scaled(hints, (S / prev) ** 2);
        cases.push(await runCase(name, S, `S=${S}`, convInput(S, backward, 6000 + S), convEngines, engines, profiled(cfg.matmulRun, S, cfg.convSizes), h));
        hints = h;
        prev = S;
      }
    }
  }
  if (want('roofline')) {
    log('roofline (end)');
    roofline.end = await measureRoofline(cfg.rooflineReps);
    log(`  kernel ${roofline.end.kernelGBs.toFixed(2)} GB/s, copyBufferToBuffer ${roofline.end.copyGBs.toFixed(2)} GB/s`);
  }
  return { adapter, engineInit, roofline, cases, probes, userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated ?? false, totalMs: now() - t0 };
}

declare global {
  interface Window {
    runBench?: (cfg: BenchConfig) => Promise<BenchResult>;
    benchAdapter?: () => Promise<Record<string, unknown>>;
  }
}
// In a page, the driver calls these; the Node runner (bench/node/node-run.ts) imports them.
if (typeof window !== 'undefined' && typeof document !== 'undefined') {
  window.runBench = runBench;
  window.benchAdapter = describeAdapter;
  document.title = 'pixelgrad bench (ready)';
}
