/**
 * A walk kernel's row loop with vec4 loads and stores where its rows allow them: the renderer
 * reads a row of R elements as R scalar loads, element off + o · R of row o, and on SwiftShader a
 * scalar load costs about what a vec4 load does (the plain-op palette step read and wrote 48
 * scalars a pixel for its weights and Adam's two states, against 12 vec4s in the hand-fused
 * kernel). Done on the rendered loop because only the whole loop shows every access to a binding.
 *
 * Rows whose length is not a multiple of 4 (a pixel's 3 channels) become vec4s only where the
 * caller takes four rows an iteration (`unroll` 4, for short bodies: src/gpu/render.ts says when),
 * whose 4 · R elements are R whole vec4s: the body is repeated for each of the four rows, each copy
 * with its own names. Where a thread's rows are contiguous, the vec4s one iteration shares with the
 * next (a stencil's neighbours) are carried in registers instead of loaded again (slidingWindows).
 */

/** One access to a binding: element off + o · R of row o. */
interface Access {
  readonly R: number;
  readonly off: number;
}

/** What the walk runs per iteration: the body, and the bindings now read as vec4s. */
export interface RowLoop {
  readonly loop: string[];
  readonly vec4: string[];
  /** Before the loop: the first window of each sliding binding (see slidingWindows). */
  readonly before: string[];
}

const COMPONENTS = 'xyzw';

/**
 * `o`, `o * Ru`, constants and sums and differences of them, through parentheses: the index forms
 * the renderer writes for a row's elements (a neighbour's is `o - 3u`).
 */
function parseIndex(text: string): Access | null {
  const e = text.replace(/[()\s]/g, '');
  if (!/^[o0-9u*+-]+$/.test(e)) return null;
  let R = 0;
  let off = 0;
  for (const [, sign, term] of e.matchAll(/([+-]?)([^+-]+)/g)) {
    const k = /^(\d+)u$/.exec(term!);
    const r = /^o(?:\*(\d+)u)?$/.exec(term!) ?? /^(\d+)u\*o$/.exec(term!);
    if (k) off += (sign === '-' ? -1 : 1) * Number(k[1]);
    else if (r && !R && sign !== '-') R = Number(r[1] ?? 1);
    else return null;
  }
  return R ? { R, off } : null;
}

/** Where a row's element lies among the loop's vec4s: vec4 o · step + g, component k. */
interface Place {
  readonly step: number;
  readonly g: number;
  readonly k: number;
}

/** The loop's vec4 bindings and where each of their accesses lies (vectorizeRows, slidingWindows). */
function rowAccess(loop: readonly string[], outside: readonly string[], names: readonly string[], unroll: 1 | 4) {
  const aliases = new Map<string, string>();
  for (const line of loop) {
    const m = /^let (x\d+) = (.+);$/.exec(line);
    if (m) aliases.set(m[1]!, m[2]!);
  }
  const accessOf = (idx: string) => parseIndex(aliases.get(idx) ?? idx);
  const outsideText = outside.join('\n');
  const text = loop.join('\n');
  const refOf = (name: string) => new RegExp(`\\b${name}\\[([^\\[\\]]+)\\]`, 'g');
  const writeOf = (name: string) => new RegExp(`^${name}\\[([^\\[\\]]+)\\] = (.+);$`);
  const candidates = new Map<string, Access[]>();
  for (const name of names) {
    if (outsideText.includes(`${name}[`)) continue;
    const all = [...text.matchAll(refOf(name))];
    if (!all.length || all.length !== text.split(`${name}[`).length - 1) continue;
    const accesses = all.map((m) => accessOf(m[1]!));
    if (accesses.every((a) => a !== null)) candidates.set(name, accesses as Access[]);
  }
  /** Where element off + R · (unroll · o + j) lies: vec4 o · R · unroll / 4 + g, component k. */
  const place = (a: Access, j: number): Place => {
    const e = a.off + a.R * j;
    return { step: (a.R * unroll) / 4, g: e >> 2, k: e & 3 };
  };
  const copies = Array.from({ length: unroll }, (_, j) => j);
  // A neighbour before the row (a negative offset) lies in vec4 g < 0 of it: named m|g|, loaded at o · step − |g|
  // (out of bounds at the image's first rows, where WebGPU clamps the load and a pad masks the value).
  const groupOf = (name: string, p: { step: number; g: number }) => `${name}_${p.step}_${p.g < 0 ? `m${-p.g}` : p.g}`;

  const vec4 = [...candidates].filter(([name, accesses]) => {
    if (accesses.some((a) => (a.R * unroll) % 4 !== 0)) return false;
    const write = writeOf(name);
    const written = new Map<string, number>();
    for (const line of loop) {
      const m = write.exec(line);
      if (!m) continue;
      for (const j of copies) {
        const p = place(accessOf(m[1]!)!, j);
        const key = groupOf(name, p);
        const mask = written.get(key) ?? 0;
        if (mask & (1 << p.k)) return false;
        written.set(key, mask | (1 << p.k));
      }
    }
    return [...written.values()].every((mask) => mask === 15);
  }).map(([name]) => name);
  const isWritten = (name: string) => loop.some((line) => writeOf(name).test(line));
  return { vec4, candidates, accessOf, place, copies, groupOf, isWritten, refOf, writeOf };
}

/** Offsets lo..hi of binding `name`'s vec4s that a sliding loop keeps in registers. */
export interface Window {
  readonly name: string;
  readonly lo: number;
  readonly hi: number;
}

/** Widest window of neighbouring vec4s a sliding binding keeps in registers. */
const MAX_WINDOW = 3;

/**
 * The vec4s of read-only bindings that one iteration reads and the next reads too, when o advances
 * by one vec4 an iteration (a thread's contiguous rows): a stencil reading x[e - 3], x[e] and
 * x[e + 3] over a flat image reads vec4s o - 1, o and o + 1. Each window [lo, hi] of neighbouring
 * offsets of a binding (others, such as the rows above and below, are loaded as before): the loop
 * loads only vec4 o + hi and carries the rest from the iteration before (tv's gradient pass read
 * X five times an element).
 */
export function slidingWindows(loop: readonly string[], outside: readonly string[], names: readonly string[], unroll: 1 | 4): Window[] {
  const { vec4, candidates, place, copies, isWritten } = rowAccess(loop, outside, names, unroll);
  const windows: Window[] = [];
  for (const name of vec4) {
    if (isWritten(name)) continue;
    const places = candidates.get(name)!.flatMap((a) => copies.map((j) => place(a, j)));
    if (places.some((p) => p.step !== 1)) continue;
    const gs = [...new Set(places.map((p) => p.g))].sort((a, b) => a - b);
    for (let i = 0; i < gs.length; ) {
      let j = i;
      while (j + 1 < gs.length && gs[j + 1]! - gs[i]! < MAX_WINDOW) j++;
      if (j > i) windows.push({ name, lo: gs[i]!, hi: gs[j]! });
      i = j + 1;
    }
  }
  return windows;
}

/**
 * The loop body with each eligible binding read as vec4s (each loaded just before its first use)
 * and written as whole vec4s (each stored once its last component is computed), and the bindings
 * that became vec4 arrays. A binding is eligible when every access to it, in the loop and outside
 * it, is an element off + o · R with R · unroll a multiple of 4, and its writes cover whole vec4s,
 * each component once. With `unroll` 4 the loop's o counts groups of four rows.
 */
export function vectorizeRows(loop: readonly string[], outside: readonly string[], names: readonly string[], unroll: 1 | 4 = 1, slide?: { readonly start: string; readonly windows: readonly Window[] }): RowLoop {
  const { vec4, accessOf, place, copies, groupOf, refOf, writeOf } = rowAccess(loop, outside, names, unroll);
  if (!vec4.length && unroll === 1) return { loop: [...loop], vec4, before: [] };
  const declared = new Set(loop.map((l) => /^(?:let|var) (\w+)/.exec(l)?.[1]));
  /** Row j's copy of a line: its own names, row 4o + j for o. */
  const rename = (line: string, j: number) =>
    unroll === 1 ? line : line.replace(/\b[a-z]\w*\b/g, (tok) => (tok === 'o' ? `oq${j}` : declared.has(tok) ? `${tok}_q${j}` : tok));

  const at = (o: string, step: number, g: number) => `${o} * ${step}u ${g < 0 ? '-' : '+'} ${Math.abs(g)}u`;
  const vecAt = (name: string, p: { step: number; g: number }) => `${name}[${at('o', p.step, p.g)}]`;
  const out: string[] = [];
  const loaded = new Set<string>();
  // A sliding binding's window: loaded once before the loop, then one vec4 an iteration (its last),
  // the others carried over from the iteration before in vars named after them.
  const before: string[] = [];
  const after: string[] = [];
  for (const { name, lo, hi } of slide?.windows ?? []) {
    const g = (k: number) => groupOf(name, { step: 1, g: k });
    for (let k = lo; k <= hi; k++) {
      loaded.add(g(k));
      if (k < hi) {
        before.push(`var ${g(k)}c = ${name}[${at(slide!.start, 1, k)}];`);
        out.push(`let ${g(k)} = ${g(k)}c;`);
        after.push(`${g(k)}c = ${g(k + 1)};`);
      } else out.push(`let ${g(k)} = ${vecAt(name, { step: 1, g: k })};`);
    }
  }
  const pending = new Map<string, string[]>();
  const writes = vec4.map((name) => ({ name, re: writeOf(name) }));
  // A load goes before the top-level statement that first reads it (a read inside an inner loop
  // is loaded before that loop, so that later statements see it too).
  let depth = 0;
  let statement = 0;
  for (const j of copies) {
    if (unroll > 1) out.push(`let oq${j} = o * ${unroll}u + ${j}u;`);
    for (const line of loop) {
      if (depth === 0) statement = out.length;
      depth += (line.match(/\{/g)?.length ?? 0) - (line.match(/\}/g)?.length ?? 0);
      const w = writes.map(({ name, re }) => ({ name, m: re.exec(line) })).find((x) => x.m);
      if (w) {
        const p = place(accessOf(w.m![1]!)!, j);
        const key = groupOf(w.name, p);
        const values = pending.get(key) ?? [];
        values[p.k] = rename(w.m![2]!, j);
        pending.set(key, values);
        if (values.filter((v) => v !== undefined).length === 4) out.push(`${vecAt(w.name, p)} = vec4<f32>(${values.join(', ')});`);
        continue;
      }
      let next = line;
      for (const name of vec4) {
        next = next.replace(refOf(name), (_, idx: string) => {
          const p = place(accessOf(idx)!, j);
          const v = groupOf(name, p);
          if (!loaded.has(v)) {
            loaded.add(v);
            out.splice(statement++, 0, `let ${v} = ${vecAt(name, p)};`);
          }
          return `${v}.${COMPONENTS[p.k]}`;
        });
      }
      out.push(rename(next, j));
    }
  }
  return { loop: unroll === 4 ? laneDivisions([...out, ...after]) : [...out, ...after], vec4, before };
}

/**
 * Row 4o + j's quotient and remainder by a constant c of 3 or more that is not a power of two
 * (an image's 3 channels): the division of 4o once an iteration, then per row a compare, since
 * r + j < 2c. A division by a constant is a real division on SwiftShader (total variation's pass
 * at 512²: 12.4 → 11.7 ms without the four rows' divisions by 3); a GPU's compiler would have made
 * it a multiply.
 */
function laneDivisions(lines: readonly string[]): string[] {
  const nested = /\(\(oq([0-3]) \/ (\d+)u\) ([/%]) (\d+)u\)/g;
  const single = /\(oq([0-3]) ([/%]) (\d+)u\)/g;
  // A division by 2^k is a shift already; by 1 or 2 a row can be two or more past row 0's.
  const divides = (c: number) => c > 2 && (c & (c - 1)) !== 0;
  // A pixel's row and column too ((4o + j) / c divided by an image width w): row j's pixel is row
  // 0's or the next, so its quotient by w is row 0's, or one more where row 0's column is the last.
  const pairs = new Set(lines.flatMap((l) => [...l.matchAll(nested)].filter((m) => Number(m[2]) > 2 && divides(Number(m[4]))).map((m) => `${m[2]}_${m[4]}`)));
  const cs = new Set([...pairs].map((p) => Number(p.split('_')[0])));
  for (const l of lines) for (const m of l.matchAll(single)) if (divides(Number(m[3]))) cs.add(Number(m[3]));
  if (!cs.size) return [...lines];
  const out = lines.map((l) =>
    l
      .replace(nested, (whole, j: string, c: string, op: string, w: string) => {
        if (!pairs.has(`${c}_${w}`)) return whole;
        const [q, r] = [`oqe${c}_${w}`, `oqf${c}_${w}`];
        if (j === '0') return op === '/' ? q : r;
        const next = `oqr${c} >= ${Number(c) - Number(j)}u`;
        const wraps = `(${r} == ${Number(w) - 1}u) & (${next})`;
        return op === '/' ? `(${q} + select(0u, 1u, ${wraps}))` : `select(${r} + select(0u, 1u, ${next}), 0u, ${wraps})`;
      })
      .replace(single, (whole, j: string, op: string, c: string) => {
        if (!cs.has(Number(c))) return whole;
        const [d, r, k] = [`oqd${c}`, `oqr${c}`, Number(c) - Number(j)];
        if (j === '0') return op === '/' ? d : r;
        return op === '/' ? `(${d} + select(0u, 1u, ${r} >= ${k}u))` : `select(${r} + ${j}u, ${r} - ${k}u, ${r} >= ${k}u)`;
      }),
  );
  const setup = [
    ...[...cs].map((c) => `let oqd${c} = (o * 4u) / ${c}u; let oqr${c} = o * 4u - oqd${c} * ${c}u;`),
    ...[...pairs].map((p) => {
      const [c, w] = p.split('_');
      return `let oqe${p} = oqd${c} / ${w}u; let oqf${p} = oqd${c} - oqe${p} * ${w}u;`;
    }),
  ];
  out.splice(Math.max(0, lines.findIndex((l) => l.startsWith('let oq0 = '))), 0, ...setup);
  return out;
}
