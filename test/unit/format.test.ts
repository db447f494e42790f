import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { formatSuite } from '../shared/format.suite.ts';

describe('printing on the float64 CPU backend', () => {
  formatSuite('cpu');

  test("Node's util.inspect (console.log) shows the one-line description, not internals", () => {
    const t = pg.tensor([1, 2], { requiresGrad: true });
    expect(inspect(t)).toBe(`Tensor(id=${t.id}, shape=[2], requiresGrad)`);
    expect(inspect({ weights: [t] })).toBe(`{ weights: [ Tensor(id=${t.id}, shape=[2], requiresGrad) ] }`);
    t.dispose();
  });
});
