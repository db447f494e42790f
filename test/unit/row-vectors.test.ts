/** The walk kernel's vec4 row pass (src/gpu/row-vectors.ts): which bindings it turns into vec4s, and the text it writes. */
import { describe, expect, test } from 'vitest';
import { vectorizeRows } from '../../src/gpu/row-vectors.ts';

const row = (name: string, R: number, from = 0, to = R, off = 0) =>
  Array.from({ length: to - from }, (_, k) => {
    const c = from + k + off;
    return c === 0 ? `${name}[o * ${R}u]` : `${name}[(o * ${R}u + ${c}u)]`;
  });

describe('vectorizeRows', () => {
  test('a row of 8 read and written in place becomes two vec4 loads, each before its first use, and two vec4 stores', () => {
    const reads = row('o0', 8).map((r, k) => `let v${k} = ${r};`);
    const writes = row('o0', 8).map((w, k) => `${w} = v${k + 10};`);
    const { loop, vec4 } = vectorizeRows([...reads, 'let v10 = v0 * 2.0;', ...writes], [], ['o0']);
    expect(vec4).toEqual(['o0']);
    expect(loop.slice(0, 2)).toEqual(['let o0_2_0 = o0[o * 2u + 0u];', 'let v0 = o0_2_0.x;']);
    expect(loop.indexOf('let o0_2_1 = o0[o * 2u + 1u];')).toBe(loop.indexOf('let v4 = o0_2_1.x;') - 1);
    expect(loop).toContain('let v5 = o0_2_1.y;');
    expect(loop).toContain('o0[o * 2u + 0u] = vec4<f32>(v10, v11, v12, v13);');
    expect(loop).toContain('o0[o * 2u + 1u] = vec4<f32>(v14, v15, v16, v17);');
    expect(loop.join('\n')).not.toMatch(/o0\[\(o \* 8u/);
  });

  test('an index named by an earlier let is followed to its expression', () => {
    const { loop, vec4 } = vectorizeRows(['let x2 = o * 4u;', 'let v3 = i0[x2];', 'let v4 = i0[(o * 4u + 3u)];'], [], ['i0']);
    expect(vec4).toEqual(['i0']);
    expect(loop).toContain('let v3 = i0_1_0.x;');
    expect(loop).toContain('let v4 = i0_1_0.w;');
  });

  test('a row at a constant offset (one image of a [K, n, 4] stack) reads whole vec4s past the offset', () => {
    const lines = ['let v0 = i0[(8192u + o * 4u)];', 'let v1 = i0[((8192u + o * 4u) + 3u)];', 'let v2 = i0[(o * 4u + 6u)];', 'let v3 = i0[(o * 4u + 5u)];'];
    const { loop, vec4 } = vectorizeRows(lines, [], ['i0']);
    expect(vec4).toEqual(['i0']);
    expect(loop).toEqual(['let i0_1_2048 = i0[o * 1u + 2048u];', 'let v0 = i0_1_2048.x;', 'let v1 = i0_1_2048.w;', 'let i0_1_1 = i0[o * 1u + 1u];', 'let v2 = i0_1_1.z;', 'let v3 = i0_1_1.y;']);
  });

  test('four rows an iteration: each copy renames its lets, and rows of 3 become 3 vec4s', () => {
    const lines = ['let v0 = i0[o * 3u];', 'let v1 = i0[(o * 3u + 2u)];', 'var a2: f32 = v0 + v1;', 'p0b = p0b + a2;'];
    const { loop, vec4 } = vectorizeRows(lines, [], ['i0'], 4);
    expect(vec4).toEqual(['i0']);
    // Row 4o + j reads elements 3j and 3j + 2 of the iteration's 12.
    expect(loop).toContain('let i0_3_0 = i0[o * 3u + 0u];');
    expect(loop).toContain('let v0_q1 = i0_3_0.w;');
    expect(loop).toContain('let v1_q1 = i0_3_1.y;');
    expect(loop).toContain('let v1_q3 = i0_3_2.w;');
    expect(loop).toContain('var a2_q2: f32 = v0_q2 + v1_q2;');
    expect(loop.filter((l) => l === 'p0b = p0b + a2_q3;')).toHaveLength(1);
    expect(loop.filter((l) => l.startsWith('let i0_3_'))).toHaveLength(3);
  });

  test('four rows of 3 at a constant offset are written as 3 whole vec4s; a binding read elsewhere keeps scalar reads of its own row', () => {
    const lines = ['let v0 = 0.5;', 'let v1 = i1[o * 2u + t];', 'let v2 = 2.5;', ...row('o0', 3, 0, 3, 12).map((w, k) => `${w} = v${k};`)];
    const { loop, vec4 } = vectorizeRows(lines, [], ['o0', 'i1'], 4);
    expect(vec4).toEqual(['o0']);
    expect(loop.filter((l) => l.startsWith('o0['))).toEqual(['o0[o * 3u + 3u] = vec4<f32>(v0_q0, v1_q0, v2_q0, v0_q1);', 'o0[o * 3u + 4u] = vec4<f32>(v1_q1, v2_q1, v0_q2, v1_q2);', 'o0[o * 3u + 5u] = vec4<f32>(v2_q2, v0_q3, v1_q3, v2_q3);']);
    expect(loop).toContain('let oq2 = o * 4u + 2u;');
    expect(loop).toContain('let v1_q2 = i1[oq2 * 2u + t];');
  });

  test('a read inside an inner loop is loaded before that loop', () => {
    const lines = ['var a0: f32 = 0.0;', 'for (var r1 = 0u; r1 < 9u; r1 = r1 + 1u) {', '  a0 = a0 + i0[(o * 4u + 1u)] * f32(r1);', '}', 'let v2 = a0;'];
    const { loop } = vectorizeRows(lines, [], ['i0']);
    expect(loop.slice(0, 3)).toEqual(['var a0: f32 = 0.0;', 'let i0_1_0 = i0[o * 1u + 0u];', 'for (var r1 = 0u; r1 < 9u; r1 = r1 + 1u) {']);
  });

  test('rows of 3, reads at other indices, reads outside the loop and partial vec4 writes stay scalar', () => {
    const three = ['let v0 = i0[o * 3u];', 'let v1 = i0[(o * 3u + 1u)];'];
    expect(vectorizeRows(three, [], ['i0']).vec4).toEqual([]);
    const scattered = ['let v0 = i0[o * 8u];', 'let v1 = i0[(o * t + 1u)];'];
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
    expect(loop).toEqual(['let i0_1_0 = i0[o * 1u + 0u];', 'let v0 = i0_1_0.y;', 'let v1 = i1[(o * 3u + 1u)];', 'let v2 = i0_1_0.z;']);
  });
});
