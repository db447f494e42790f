/**
 * The tone, tv and mlp workloads (bench/src/tone.ts, tv.ts, mlp.ts) on the Node runner over SwiftShader: at a
 * small size every engine runs (pixelgrad from plain ops, the hand-fused raw step, jax-js, the
 * plain-JS loop with its analytic gradient) and their losses after the same steps agree.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const ENGINES = ['pixelgrad', 'raw', 'jax', 'js'];

// A budget of 10 s an engine: at 2 s, jax-js (conv) and pixelgrad (tone) ran out on a loaded machine
// (a CI run beside other work) before finishing their repetitions; an idle run takes under 1 s each.
test('tone, tv and mlp: every engine runs at S=32 and the losses agree', () => {
  const icd = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
  expect(existsSync(icd), `${icd} (Debian's chromium) or VK_ICD_FILENAMES is needed`).toBe(true);
  const out = mkdtempSync(join(tmpdir(), 'pixelgrad-bench-workloads-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--node', '--quick', '--only=tone,tv,mlp', `--engines=${ENGINES.join(',')}`, '--sizes=32', '--budget=10', `--out=${out}`],
      { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: icd }, timeout: 120_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'latest-quick-node-partial.json'), 'utf8')) as {
      cases: { workload: string; size: number; reference: string; engines: Record<string, { status: string; checkPassed?: boolean; checkValues: number[] }> }[];
    };
    for (const workload of ['tone', 'tv', 'mlp']) {
      const c = result.cases.find((x) => x.workload === workload && x.size === 32)!;
      expect(c.reference).toBe('pixelgrad');
      for (const e of ENGINES) {
        const res = c.engines[e]!;
        expect(res.status, `${workload} ${e}`).toBe('ok');
        expect(res.checkValues.length, `${workload} ${e}`).toBe(3);
        expect(res.checkPassed, `${workload} ${e}: ${res.checkValues.join(', ')} against ${c.engines.pixelgrad!.checkValues.join(', ')}`).toBe(true);
      }
      // The fit moves: the third loss differs from the first.
      const [first, , third] = c.engines.js!.checkValues;
      expect(third).not.toBe(first);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);

test('conv: every engine runs forward and forward + backward at S=32 and the sums agree', () => {
  const icd = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
  expect(existsSync(icd), `${icd} (Debian's chromium) or VK_ICD_FILENAMES is needed`).toBe(true);
  const out = mkdtempSync(join(tmpdir(), 'pixelgrad-bench-conv-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--node', '--quick', '--only=conv', `--engines=${ENGINES.join(',')}`, '--sizes=32', '--budget=10', `--out=${out}`],
      { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: icd }, timeout: 120_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'latest-quick-node-partial.json'), 'utf8')) as {
      cases: { workload: string; size: number; engines: Record<string, { status: string; checkPassed?: boolean; checkValues: number[] }> }[];
    };
    for (const workload of ['conv fwd', 'conv fwd+bwd']) {
      const c = result.cases.find((x) => x.workload === workload && x.size === 32)!;
      expect(c, workload).toBeDefined();
      for (const e of ENGINES) {
        const res = c.engines[e]!;
        expect(res.status, `${workload} ${e}`).toBe('ok');
        expect(res.checkPassed, `${workload} ${e}: ${res.checkValues.join(', ')} against ${c.engines.pixelgrad!.checkValues.join(', ')}`).toBe(true);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);
