/**
 * A walk kernel's row loop with vec4 loads and stores where its rows allow them: the renderer
 * reads a row of R elements as R scalar loads, element o · R + c of row o, and on SwiftShader a
 * scalar load costs about what a vec4 load does (the plain-op palette step read and wrote 48
 * scalars a pixel for its weights and Adam's two states, against 12 vec4s in the hand-fused
 * kernel). Done on the rendered loop because only the whole loop shows every access to a binding.
 */

/** One access to a binding: its row length R, the element c within the row. */
interface Access {
  readonly R: number;
  readonly c: number;
}

const COMPONENTS = 'xyzw';

/**
 * The loop body with each eligible binding read as vec4s (loaded once at the top of the body) and
 * written as whole vec4s, and the bindings that became vec4 arrays. A binding is eligible when
 * every access to it, in the loop and outside it, is an element o · R + c with R a multiple of 4,
 * and its writes cover whole vec4s, each component once.
 */
export function vectorizeRows(loop: readonly string[], outside: readonly string[], names: readonly string[]): { loop: string[]; vec4: string[] } {
  const aliases = new Map<string, string>();
  for (const line of loop) {
    const m = /^let (x\d+) = (.+);$/.exec(line);
    if (m) aliases.set(m[1]!, m[2]!);
  }
  const accessOf = (idx: string): Access | null => {
    const m = /^\(?o \* (\d+)u(?: \+ (\d+)u)?\)?$/.exec(aliases.get(idx) ?? idx);
    if (!m) return null;
    const R = Number(m[1]);
    const c = Number(m[2] ?? 0);
    return R % 4 === 0 && c < R ? { R, c } : null;
  };
  const outsideText = outside.join('\n');
  let lines = [...loop];
  const vec4: string[] = [];
  for (const name of names) {
    if (outsideText.includes(`${name}[`)) continue;
    const ref = new RegExp(`\\b${name}\\[([^\\[\\]]+)\\]`, 'g');
    const text = lines.join('\n');
    const all = [...text.matchAll(ref)];
    if (!all.length || all.length !== text.split(`${name}[`).length - 1) continue;
    if (all.some((m) => !accessOf(m[1]!))) continue;
    const write = new RegExp(`^${name}\\[([^\\[\\]]+)\\] = (.+);$`);
    const writes = new Map<string, (string | undefined)[]>();
    let whole = true;
    for (const line of lines) {
      const m = write.exec(line);
      if (!m) continue;
      const a = accessOf(m[1]!)!;
      const group = `${a.R}_${a.c >> 2}`;
      const vs = writes.get(group) ?? [];
      if (vs[a.c & 3] !== undefined) whole = false;
      vs[a.c & 3] = m[2]!;
      writes.set(group, vs);
    }
    if (!whole || [...writes.values()].some((vs) => vs.filter((v) => v !== undefined).length !== 4)) continue;
    const at = (R: number, c: number) => `${name}[o * ${R / 4}u + ${c >> 2}u]`;
    const loads = new Map<string, string>();
    const out: string[] = [];
    const written = new Set<string>();
    for (const line of lines) {
      const w = write.exec(line);
      if (w) {
        const a = accessOf(w[1]!)!;
        const group = `${a.R}_${a.c >> 2}`;
        if (!written.has(group)) {
          written.add(group);
          out.push(`${at(a.R, a.c)} = vec4<f32>(${writes.get(group)!.join(', ')});`);
        }
        continue;
      }
      out.push(
        line.replace(ref, (_, idx: string) => {
          const a = accessOf(idx)!;
          const v = `${name}_${a.R}_${a.c >> 2}`;
          loads.set(v, `let ${v} = ${at(a.R, a.c)};`);
          return `${v}.${COMPONENTS[a.c & 3]}`;
        }),
      );
    }
    // Every read of a row happens before the body writes it (writes come last), so the loads go first.
    lines = [...loads.values(), ...out];
    vec4.push(name);
  }
  return { loop: lines, vec4 };
}
