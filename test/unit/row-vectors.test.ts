/** The walk kernel's vec4 row pass (src/gpu/row-vectors.ts): which bindings it turns into vec4s, and the text it writes. */
import { describe, expect, test } from 'vitest';
import { vectorizeRows } from '../../src/gpu/row-vectors.ts';

const row = (name: string, R: number, from = 0, to = R) =>
  Array.from({ length: to - from }, (_, k) => {
    const c = from + k;
    return c === 0 ? `${name}[o * ${R}u]` : `${name}[(o * ${R}u + ${c}u)]`;
  });

describe('vectorizeRows', () => {
  test('a row of 8 read and written in place becomes two vec4 loads before the body and two vec4 stores', () => {
    const reads = row('o0', 8).map((r, k) => `let v${k} = ${r};`);
    const writes = row('o0', 8).map((w, k) => `${w} = v${k + 10};`);
    const { loop, vec4 } = vectorizeRows([...reads, 'let v10 = v0 * 2.0;', ...writes], [], ['o0']);
    expect(vec4).toEqual(['o0']);
    expect(loop.slice(0, 2)).toEqual(['let o0_8_0 = o0[o * 2u + 0u];', 'let o0_8_1 = o0[o * 2u + 1u];']);
    expect(loop).toContain('let v5 = o0_8_1.y;');
    expect(loop).toContain('o0[o * 2u + 0u] = vec4<f32>(v10, v11, v12, v13);');
    expect(loop).toContain('o0[o * 2u + 1u] = vec4<f32>(v14, v15, v16, v17);');
    expect(loop.join('\n')).not.toMatch(/o0\[\(o \* 8u/);
  });

  test('an index named by an earlier let is followed to its expression', () => {
    const { loop, vec4 } = vectorizeRows(['let x2 = o * 4u;', 'let v3 = i0[x2];', 'let v4 = i0[(o * 4u + 3u)];'], [], ['i0']);
    expect(vec4).toEqual(['i0']);
    expect(loop).toContain('let v3 = i0_4_0.x;');
    expect(loop).toContain('let v4 = i0_4_0.w;');
  });

  test('rows of 3, reads at other indices, reads outside the loop and partial vec4 writes stay scalar', () => {
    const three = ['let v0 = i0[o * 3u];', 'let v1 = i0[(o * 3u + 1u)];'];
    expect(vectorizeRows(three, [], ['i0']).vec4).toEqual([]);
    const scattered = ['let v0 = i0[o * 8u];', 'let v1 = i0[(o + 1u)];'];
    expect(vectorizeRows(scattered, [], ['i0']).vec4).toEqual([]);
    expect(vectorizeRows(['let v0 = i0[o * 8u];'], ['let v9 = i0[0u];'], ['i0']).vec4).toEqual([]);
    const partial = row('o0', 8, 0, 3).map((w, k) => `${w} = v${k};`);
    const r = vectorizeRows(partial, [], ['o0']);
    expect(r.vec4).toEqual([]);
    expect(r.loop).toEqual(partial);
  });

  test('each binding is decided on its own: one vec4, the other scalar', () => {
    const lines = ['let v0 = i0[(o * 4u + 1u)];', 'let v1 = i1[(o * 3u + 1u)];', 'let v2 = i0[(o * 4u + 2u)];'];
    const { loop, vec4 } = vectorizeRows(lines, [], ['i0', 'i1']);
    expect(vec4).toEqual(['i0']);
    expect(loop).toEqual(['let i0_4_0 = i0[o * 1u + 0u];', 'let v0 = i0_4_0.y;', 'let v1 = i1[(o * 3u + 1u)];', 'let v2 = i0_4_0.z;']);
  });
});
