import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { minifyWgsl } from '../../scripts/wgsl-minify.ts';
import optimWgsl from '../../shaders/optim.wgsl?raw';

const dir = resolve(import.meta.dirname, '../../shaders');
const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
const markers = (s: string) => s.split('\n').filter((l) => l.startsWith('//# '));
// Whitespace-separated words once comments are gone: what the WGSL compiler tokenises.
const words = (s: string) => s.replace(/\/\/.*$/gm, '').split(/\s+/).filter(Boolean);

test.each(files)('%s minifies to the same sections and the same code', (f) => {
  const source = readFileSync(join(dir, f), 'utf8');
  const min = minifyWgsl(source);
  expect(markers(min)).toEqual(markers(source));
  expect(markers(min).length).toBeGreaterThan(0);
  const sections = (s: string) => s.split(/^\/\/# .*$/m).map(words);
  expect(sections(min)).toEqual(sections(source));
  expect(min.length).toBeLessThan(source.length);
});

test('the tests import shaders minified, as the build does', () => {
  expect(optimWgsl).toBe(minifyWgsl(readFileSync(join(dir, 'optim.wgsl'), 'utf8')));
});

test('block comments are refused rather than kept or half-stripped', () => {
  expect(() => minifyWgsl('/* a */ fn f() {}')).toThrow(/block comments/);
});
