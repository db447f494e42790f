/**
 * The package as a user gets it: `npm run build`, `npm pack`, the tarball installed into a fresh
 * project under the OS temp folder, then the README example on Node WebGPU, error names and
 * `instanceof`, `require('pixelgrad')`, and the packed .d.ts compiled by tsc under strict and
 * noUncheckedIndexedAccess. The other suites test src/; this one tests what ships.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let files: string[] = [];

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pixelgrad-packed-'));
  run(npm, ['run', '-s', 'build'], root);
  const packed = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root)) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path).sort();
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', join(dir, packed[0]!.filename)], app);
  // The optional peer, from this checkout (the registry is not needed).
  symlinkSync(join(root, 'node_modules/webgpu'), join(app, 'node_modules/webgpu'), 'dir');
  for (const f of readdirSync(join(root, 'test/packed'))) cpSync(join(root, 'test/packed', f), join(app, f));
  dir = app;
}, 120_000);

afterAll(() => {
  if (dir) rmSync(resolve(dir, '..'), { recursive: true, force: true });
});

test('the tarball holds the build, the license and the changelog; no shaders/, no embedded sources, no internals in the types', () => {
  expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.js.map', 'dist/index.d.ts']));
  expect(files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(f))).toEqual([]);
  const installed = join(dir, 'node_modules/pixelgrad');
  const map = JSON.parse(readFileSync(join(installed, 'dist/index.js.map'), 'utf8')) as { sourcesContent?: unknown };
  expect(map.sourcesContent).toBeUndefined();
  const tensorTypes = readFileSync(join(installed, 'dist/tensor.d.ts'), 'utf8');
  for (const internal of ['_storage', '_node', '_live', '_backend', '_gradNode', 'accumulateGrad', 'constructor(']) expect(tensorTypes).not.toContain(internal);
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  expect(Object.keys(pkg.exports['.']!)).toEqual(['types', 'import', 'default']);
});

test('the README example on Node WebGPU gives -0.12 and -0.08; errors keep their names and classes; printing and safetensors work', () => {
  const icd = process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD;
  expect(existsSync(icd), `${icd} (Debian's chromium) or VK_ICD_FILENAMES is needed`).toBe(true);
  const out = JSON.parse(run(process.execPath, ['example.mjs'], dir, { VK_ICD_FILENAMES: icd }).trim().split('\n').at(-1)!) as {
    backendKind: string;
    grads: number[];
    thrown: Record<string, unknown>;
    names: Record<string, string>;
    printed: string;
    inspected: string;
    roundTrip: string[];
    pendingAtShutdown: string;
  };
  expect(out.backendKind).toBe('webgpu');
  expect(Math.abs(out.grads[0]! + 0.12)).toBeLessThan(1e-6);
  expect(Math.abs(out.grads[1]! + 0.08)).toBeLessThan(1e-6);
  expect(out.thrown).toEqual({ name: 'ShapeError', stack: expect.stringMatching(/^ShapeError: add:/), string: 'ShapeError', isShapeError: true, isPixelgradError: true, isError: true });
  expect(Object.keys(out.names).length).toBeGreaterThanOrEqual(13);
  for (const [exported, name] of Object.entries(out.names)) expect(name, exported).toBe(exported);
  expect(out.printed).toBe('tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2])');
  expect(out.inspected).toMatch(/^Tensor\(id=\d+, shape=\[1\], requiresGrad\)$/);
  expect(out.roundTrip).toEqual(['c1', 'c2']);
  expect(out.pendingAtShutdown).toBe('DeviceLostError');
}, 60_000);

test("require('pixelgrad') works in Node (require of an ES module)", () => {
  const out = JSON.parse(run(process.execPath, ['require.cjs'], dir).trim().split('\n').at(-1)!);
  expect(out).toEqual({ sum: 6, name: 'ShapeError', tensor: 'function' });
}, 60_000);

test('the packed types compile under strict and noUncheckedIndexedAccess, without @webgpu/types', () => {
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023', 'DOM'],
      types: [],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files: ['consumer.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(output).toBe('');
}, 60_000);
