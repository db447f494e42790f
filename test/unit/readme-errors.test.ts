/** The README's Errors section: every exported error class, when it is thrown and what to do. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

test("the README's Errors table has a row for every exported error class, each saying when and what to do", () => {
  const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
    const name = /^`(\w+Error)`$/.exec(cells[0] ?? '')?.[1];
    if (name) rows.set(name, cells.slice(1));
  }
  const classes = Object.entries(pg)
    .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof pg.PixelgradError)
    .map(([k]) => k);
  expect(classes.length).toBeGreaterThanOrEqual(14);
  for (const name of classes) {
    const cells = rows.get(name);
    expect(cells, `${name} has no row in the README's Errors table`).toBeDefined();
    expect(cells!.length, `${name}: when it is thrown and what to do`).toBe(2);
    for (const c of cells!) expect(c.length, name).toBeGreaterThan(10);
  }
  expect([...rows.keys()].filter((n) => !classes.includes(n))).toEqual([]);
  expect(section).toMatch(/`PixelgradError`/);
});
