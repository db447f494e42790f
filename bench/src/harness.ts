/**
 * Runs one workload at one size across engines: a check phase (the first steps, read back one by
 * one, compared with the reference engine; these also warm up pipelines), then timed repetitions
 * interleaved round-robin, each engine held to a time budget, then a per-kernel replay profile.
 */
import { type Counters, type EngineFactory, type EngineName, errorText, type Instance, log, now } from './common.ts';
import { profileStep, type StepProfile } from './profile.ts';

export interface RunConfig {
  readonly reps: number;
  /** Steps per timed sample with one readback at the end. */
  readonly batchSteps: number;
  /** Steps per timed sample with a readback after every step (0: not measured). */
  readonly syncSteps: number;
  /** Steps read back one by one and compared across engines before timing. */
  readonly checkSteps: number;
  /** Wall-clock budget per engine for this size (ms) for its steps (setup is timed apart); pixelgrad and raw get twice this. */
  readonly budgetMs: number;
  /** Relative tolerance of the value check. */
  readonly tolerance: number;
  readonly profile: boolean;
  readonly profileBudgetMs: number;
}

export type EngineStatus = 'ok' | 'partial' | 'error' | 'skipped' | 'timeout';

export interface EngineResult {
  status: EngineStatus;
  reason?: string;
  note?: string;
  setupMs?: number;
  /** The first step alone (pipeline compiles included). */
  firstStepMs?: number;
  /** Values read after each check step. */
  checkValues: number[];
  /** max |v - ref| / |ref| over the check steps both engines finished. */
  relDiff?: number;
  checkPassed?: boolean;
  stepsDone: number;
  /** ms per step, one sample per repetition. */
  batch: number[];
  sync: number[];
  /** Counter deltas divided by timed steps. */
  perStep?: Counters;
  profile?: StepProfile;
  spentMs: number;
  /** The last ms/step estimate (measured, or predicted from the previous size when it never ran). */
  estMsPerStep?: number;
}

export interface CaseResult {
  workload: string;
  size: number;
  label: string;
  reference: EngineName;
  engines: Partial<Record<EngineName, EngineResult>>;
}

/** Per-engine ms/step of the previous size, to predict whether the next size fits the budget. */
export type Hints = Partial<Record<EngineName, number>>;

class BudgetTimeout extends Error {}

export async function runCase<I>(
  workload: string,
  size: number,
  label: string,
  input: I,
  factories: Partial<Record<EngineName, EngineFactory<I>>>,
  engines: readonly EngineName[],
  cfg: RunConfig,
  hints: Hints,
): Promise<CaseResult> {
  const res: Partial<Record<EngineName, EngineResult>> = {};
  const inst: Partial<Record<EngineName, Instance>> = {};
  const est: Partial<Record<EngineName, number>> = { ...hints };
  const abandoned = new Set<EngineName>();
  const active = (e: EngineName) => inst[e] && res[e]!.status === 'ok';
  const hardCap = Math.max(2 * cfg.budgetMs, 30_000);

  /** Runs a call on engine e, charged to its budget; a call that outlives the hard cap is abandoned. */
  const charge = async <T>(e: EngineName, fn: () => Promise<T>, cap = hardCap): Promise<T> => {
    const r = res[e]!;
    const t0 = now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const p = fn();
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BudgetTimeout(`no answer after ${(cap / 1000).toFixed(0)} s`)), cap);
        }),
      ]);
    } catch (err) {
      if (err instanceof BudgetTimeout) {
        abandoned.add(e);
        void p.catch(() => {}).finally(() => void inst[e]?.dispose());
      }
      throw err;
    } finally {
      clearTimeout(timer);
      r.spentMs += now() - t0;
    }
  };
  const fail = (e: EngineName, err: unknown) => {
    const r = res[e]!;
    r.status = err instanceof BudgetTimeout ? 'timeout' : 'error';
    r.reason = errorText(err);
    log(`  ${workload} ${label} ${e}: ${r.status}: ${r.reason}`);
  };
  /** How many of `want` steps still fit in e's budget (0: stop now). */
  const budget = (e: EngineName) => (e === 'pixelgrad' || e === 'raw' ? 2 : 1) * cfg.budgetMs;
  const fits = (e: EngineName, want: number): number => {
    const r = res[e]!;
    const per = est[e];
    if (per === undefined) return want;
    return Math.max(0, Math.min(want, Math.floor((budget(e) - r.spentMs) / per)));
  };
  const outOfBudget = (e: EngineName, why: string) => {
    const r = res[e]!;
    if (r.status === 'ok') {
      r.status = r.stepsDone > 0 ? 'partial' : 'skipped';
      r.reason = why;
      log(`  ${workload} ${label} ${e}: ${r.status}: ${why}`);
    }
  };

  for (const e of engines) {
    res[e] = { status: 'ok', checkValues: [], stepsDone: 0, batch: [], sync: [], spentMs: 0 };
    const f = factories[e];
    if (!f) {
      res[e] = { ...res[e]!, status: 'skipped', reason: 'no implementation for this workload' };
      continue;
    }
    const hint = est[e];
    // Predictions from a smaller size are rough (fixed costs, load): skip only when clearly over.
    if (hint !== undefined && hint > 1.5 * budget(e)) {
      outOfBudget(e, `predicted ${(hint / 1000).toFixed(1)} s/step from the previous size, over the ${(budget(e) / 1000).toFixed(0)} s budget`);
      continue;
    }
    try {
      const t0 = now();
      // Setup (compiles, uploads, the raw autotune) is bounded work: a longer leash than one step.
      inst[e] = await charge(e, () => f(input), Math.max(4 * cfg.budgetMs, 120_000));
      // Setup is reported, not charged: the budget bounds steps.
      res[e]!.setupMs = now() - t0;
      res[e]!.spentMs = 0;
      res[e]!.note = inst[e]!.note;
    } catch (err) {
      fail(e, err);
    }
  }

  // Check phase: step by step, interleaved, every value read back.
  for (let i = 0; i < cfg.checkSteps; i++) {
    for (const e of engines) {
      if (!active(e)) continue;
      const r = res[e]!;
      // The first step always runs (the prediction was checked above); later ones must fit.
      if (i > 0 && fits(e, 1) < 1) {
        outOfBudget(e, `budget of ${(budget(e) / 1000).toFixed(0)} s spent after ${r.stepsDone} steps`);
        continue;
      }
      try {
        const t0 = now();
        const v = await charge(e, () => inst[e]!.steps(1, true));
        const dt = now() - t0;
        if (i === 0) r.firstStepMs = dt;
        else {
          // Check steps after the first are read-every-step samples too (a slow engine may get no others).
          est[e] = dt;
          if (cfg.syncSteps > 0) r.sync.push(dt);
        }
        if (i === 0 && est[e] === undefined) est[e] = dt;
        r.checkValues.push(v);
        r.stepsDone++;
      } catch (err) {
        fail(e, err);
      }
    }
  }
  const reference = (['pixelgrad', 'raw', 'js'] as const).find((e) => (res[e]?.checkValues.length ?? 0) > 0) ?? 'pixelgrad';
  const ref = res[reference]?.checkValues ?? [];
  for (const e of engines) {
    const r = res[e]!;
    const n = Math.min(ref.length, r.checkValues.length);
    if (!n) continue;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const a = r.checkValues[i]!;
      const b = ref[i]!;
      worst = Math.max(worst, Number.isFinite(a) ? Math.abs(a - b) / Math.max(Math.abs(b), 1e-30) : Number.POSITIVE_INFINITY);
    }
    r.relDiff = worst;
    r.checkPassed = worst <= cfg.tolerance;
  }

  // Warm-up of the other step structure: the check phase read every loss, a batch drops all but
  // the last unread, which a lazy engine compiles as a different program. One untimed batch, so
  // the per-step object counts below measure the steady state of both.
  for (const e of engines) {
    if (!active(e) || fits(e, 2) < 2) continue;
    try {
      await charge(e, () => inst[e]!.steps(2, false));
      res[e]!.stepsDone += 2;
    } catch (err) {
      fail(e, err);
    }
  }

  // Timed phase: round-robin, the starting engine rotating each repetition.
  const sums = new Map<EngineName, { steps: number; deltas: Counters }>();
  const timed = async (e: EngineName, steps: number, readEvery: boolean, into: number[]) => {
    const r = res[e]!;
    const n = fits(e, steps);
    if (n < 1) {
      outOfBudget(e, `budget of ${(budget(e) / 1000).toFixed(0)} s spent after ${r.stepsDone} steps`);
      return;
    }
    const before = inst[e]!.counters?.();
    const t0 = now();
    await charge(e, () => inst[e]!.steps(n, readEvery));
    const per = (now() - t0) / n;
    const after = inst[e]!.counters?.();
    into.push(per);
    est[e] = per;
    r.stepsDone += n;
    if (before && after) {
      const s = sums.get(e) ?? { steps: 0, deltas: {} };
      s.steps += n;
      for (const k of Object.keys(after)) s.deltas[k] = (s.deltas[k] ?? 0) + (after[k]! - (before[k] ?? 0));
      sums.set(e, s);
    }
  };
  for (let rep = 0; rep < cfg.reps; rep++) {
    const order = engines.map((_, i) => engines[(i + rep) % engines.length]!);
    for (const e of order) {
      if (!active(e)) continue;
      try {
        await timed(e, cfg.batchSteps, false, res[e]!.batch);
        if (cfg.syncSteps > 0 && active(e)) await timed(e, cfg.syncSteps, true, res[e]!.sync);
      } catch (err) {
        fail(e, err);
      }
    }
  }
  for (const [e, s] of sums) {
    const per: Counters = {};
    for (const [k, v] of Object.entries(s.deltas)) per[k] = v / s.steps;
    res[e]!.perStep = per;
  }

  // Per-kernel replay of one step (after all measurements: it scribbles over the engine's state).
  if (cfg.profile) {
    for (const e of ['pixelgrad', 'raw', 'jax'] as const) {
      const i = inst[e];
      if (!i?.device || !i.recordOneStep || abandoned.has(e) || res[e]!.status === 'error') continue;
      try {
        res[e]!.profile = await profileStep(i.device, i.recordOneStep, cfg.profileBudgetMs);
      } catch (err) {
        log(`  profile of ${e} failed: ${errorText(err)}`);
      }
    }
  }

  for (const e of engines) {
    if (!inst[e] || abandoned.has(e)) continue;
    try {
      await inst[e]!.dispose();
    } catch (err) {
      log(`  ${e} dispose failed: ${errorText(err)}`);
    }
  }
  for (const e of engines) {
    const r = res[e]!;
    r.estMsPerStep = abandoned.has(e) ? Math.max(hardCap, est[e] ?? 0) : est[e];
    const med = [...r.batch].sort((a, b) => a - b)[Math.floor(r.batch.length / 2)];
    if (abandoned.has(e)) hints[e] = r.estMsPerStep;
    else if (med !== undefined) hints[e] = med;
    else if (r.firstStepMs !== undefined) hints[e] = est[e] ?? r.firstStepMs;
    log(
      `  ${workload} ${label} ${e.padEnd(9)} ${r.status.padEnd(7)} steps=${r.stepsDone} median=${med?.toFixed(2) ?? '-'} ms` +
        `${r.relDiff !== undefined ? ` rel=${r.relDiff.toExponential(1)}` : ''}${r.reason ? ` (${r.reason})` : ''}`,
    );
  }
  return { workload, size, label, reference, engines: res };
}
