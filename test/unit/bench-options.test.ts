/** The bench's command line (bench/node/options.ts): util.parseArgs, strict, with every value checked. */
import { expect, test } from 'vitest';
import { parse } from '../../bench/node/options.ts';
import { median, quantile } from '../../bench/src/stats.ts';

test('defaults, flags and lists', () => {
  expect(parse([])).toEqual({ quick: false, hardware: false, requireHardware: false, only: null, engines: [], build: true, budgetS: null, sizes: null, node: false, out: null });
  const o = parse(['--quick', '--require-hardware', '--only=palette,layers', '--engines=pixelgrad,raw', '--budget=2.5', '--sizes=32,256', '--no-build', '--node', '--out=/tmp/x']);
  expect(o).toEqual({ quick: true, hardware: true, requireHardware: true, only: ['palette', 'layers'], engines: ['pixelgrad', 'raw'], build: false, budgetS: 2.5, sizes: [32, 256], node: true, out: '/tmp/x' });
  expect(parse(['--only', 'seed']).only).toEqual(['seed']);
});

test('unknown options and bad values say what is allowed', () => {
  expect(() => parse(['--fast'])).toThrow(/--fast.*try --help/);
  expect(() => parse(['extra'])).toThrow(/try --help/);
  expect(() => parse(['--engines=pixelgrad,torch'])).toThrow(/--engines takes a comma-separated list of pixelgrad, raw, tfjs, jax, js/);
  expect(() => parse(['--only=palete'])).toThrow(/--only takes .*roofline, seed, palette, layers, palette-plain, layers-plain, tone, tv, mlp, matmul, conv/);
  expect(() => parse(['--budget=soon'])).toThrow(/--budget takes a positive number of seconds/);
  expect(() => parse(['--budget=0'])).toThrow(/--budget/);
  expect(() => parse(['--sizes=30'])).toThrow(/multiples of 4/);
  expect(() => parse(['--quick=yes'])).toThrow(/try --help/);
});

test('one quantile, interpolating between order statistics', () => {
  expect(quantile([], 0.5)).toBeUndefined();
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
  expect(quantile([0, 10], 0.75)).toBe(7.5);
});
