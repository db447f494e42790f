/**
 * The bench's Node runner (npm run bench -- --node, the device kit's engine) on SwiftShader through
 * the webgpu package: one small layers case, pixelgrad against the raw step, losses checked.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

test('npm run bench -- --node runs a layers case on Dawn and writes checked results', () => {
  const icd = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
  expect(existsSync(icd), `${icd} (Debian's chromium) or VK_ICD_FILENAMES is needed`).toBe(true);
  const out = mkdtempSync(join(tmpdir(), 'pixelgrad-bench-node-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--node', '--quick', '--only=layers', '--engines=pixelgrad,raw', '--sizes=32', '--budget=2', `--out=${out}`],
      { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: icd }, timeout: 120_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const files = readdirSync(out);
    expect(files).toEqual(['latest-quick-node-partial.json']);
    const result = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as {
      browser: { name: string };
      cases: { workload: string; size: number; engines: Record<string, { status: string; checkPassed?: boolean; stepsDone: number }> }[];
    };
    expect(result.browser.name).toContain('node');
    const layers = result.cases.find((c) => c.workload === 'layers' && c.size === 32)!;
    for (const e of ['pixelgrad', 'raw']) {
      expect(layers.engines[e]!.status).toBe('ok');
      expect(layers.engines[e]!.stepsDone).toBeGreaterThan(0);
    }
    expect(layers.engines.raw!.checkPassed).toBe(true);
    expect(r.stdout).toMatch(/\| layers \| S=32 \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);
