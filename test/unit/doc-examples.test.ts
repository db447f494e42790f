/**
 * The doc examples that state their result (`expr; // value`, or `const x = expr; // value`) run
 * on the float64 CPU backend, each `@example` block as one async function, and every stated value
 * is compared with what the line gives: numbers to 4 significant digits, typed arrays and
 * (nested) lists element by element, quoted strings exactly (tensor ids aside), `throws Name`
 * by the error's name. A block that needs what it does not define (a variable from the context
 * of its comment, a browser's `document`) stops at that line and is counted as skipped; the test
 * fails if fewer than MIN_CHECKED lines were compared, so it cannot pass by skipping everything.
 * Two examples were wrong before it existed (pg.pad's axes, createGraph's disposed gradient).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

const ROOT = join(import.meta.dirname, '../..');
const MIN_CHECKED = 100;

interface Block {
  readonly where: string;
  readonly lines: readonly (readonly [number, string])[];
}

function blocks(dir: string): Block[] {
  const out: Block[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...blocks(path));
    else if (entry.name.endsWith('.ts')) {
      const text = readFileSync(path, 'utf8').split('\n');
      text.forEach((line, i) => {
        if (!/^\s*\*\s*@example/.test(line)) return;
        const lines: [number, string][] = [];
        for (let j = i + 1; j < text.length && !/^\s*\*\/|^\s*\*\s*@\w/.test(text[j]!); j++) lines.push([j + 1, text[j]!.replace(/^\s*\* ?/, '')]);
        out.push({ where: `${relative(ROOT, path)}:${i + 1}`, lines });
      });
    }
  }
  return out;
}

type Expected = { kind: 'value'; value: unknown } | { kind: 'throws'; name: string };

/** The first balanced [...] group of `s`, parsed as JSON (numbers, strings, nested lists), or undefined. */
function bracketList(s: string): unknown {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '[') depth++;
    else if (s[i] === ']' && --depth === 0) {
      try {
        return JSON.parse(s.slice(0, i + 1).replace(/'/g, '"'));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** What a comment states, where it states a value this test can compare; null for prose. */
function expected(comment: string): Expected | null {
  const c = comment.trim();
  // A result that depends on the backend says which: not a CPU backend's to check.
  if (/WebGPU|CPU backend/.test(c)) return null;
  const thrown = /^throws (\w+)/.exec(c);
  if (thrown) return { kind: 'throws', name: thrown[1]! };
  const typed = /^(Float32Array|Int32Array|Uint8Array)\s*(\[.*)$/.exec(c);
  if (typed) {
    const v = bracketList(typed[2]!);
    return Array.isArray(v) ? { kind: 'value', value: v } : null;
  }
  if (c.startsWith('[')) {
    // Several lists (`[-0.12], [-0.08]`, what a Promise.all of reads gives) are a list of them.
    const groups = /^\[[^\]]*\](?:,\s*\[[^\]]*\])+/.exec(c);
    const v = groups ? bracketList(`[${groups[0]}]`) : bracketList(c);
    return v === undefined ? null : { kind: 'value', value: v };
  }
  const str = /^'((?:[^'\\]|\\.)*)'/.exec(c);
  if (str) return { kind: 'value', value: str[1]!.replace(/\\n/g, '\n') };
  const num = /^(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|NaN|-?Infinity)(?=$|[\s,;(])/.exec(c);
  if (num) return { kind: 'value', value: Number(num[1]) };
  const bool = /^(true|false|null)(?=$|[\s,;(])/.exec(c);
  if (bool) return { kind: 'value', value: JSON.parse(bool[1]!) };
  return null;
}

function close(got: unknown, want: unknown): boolean {
  if (typeof want === 'number') {
    if (typeof got !== 'number') return false;
    if (Number.isNaN(want) || !Number.isFinite(want)) return Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got));
    return Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want));
  }
  if (typeof want === 'string') {
    // Tensor ids count every tensor made before, in this process: not part of what an example shows.
    const ids = (s: string) => s.replace(/id=\d+/g, 'id=N').replace(/"id":\d+/g, '"id":N');
    return typeof got === 'string' && ids(got) === ids(want);
  }
  if (Array.isArray(want)) {
    const g = ArrayBuffer.isView(got) ? Array.from(got as unknown as ArrayLike<number>) : got;
    return Array.isArray(g) && g.length === want.length && want.every((w, i) => close(g[i], w));
  }
  return Object.is(got, want);
}

/** The block as JavaScript: each line that states a value becomes a call of check(line, thunk, comment). */
function program(b: Block, stated: Map<number, Expected>): string {
  const body = b.lines.map(([n, raw]) => {
    if (/\bpg\.init\(/.test(raw)) return '';
    const m = /^(\s*)(.*?);\s*\/\/\s*(.+)$/.exec(raw);
    const e = m && !/^\s*\/\//.test(raw) ? expected(m[3]!) : null;
    if (!m || !e) return raw;
    stated.set(n, e);
    const decl = /^(?:const|let)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(.*)$/.exec(m[2]!);
    if (decl) return `${m[1]}${m[2]};\nawait check(${n}, async () => ${decl[1]});`;
    if (/^(?:const|let|if|for|\}|\{)/.test(m[2]!)) return raw;
    return `${m[1]}await check(${n}, async () => (${m[2]}));`;
  });
  return ts.transpileModule(`export {};\n${body.join('\n')}`, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText.replace(/^export \{\};\s*/m, '');
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

test('every doc example that states its result gives it (CPU backend)', async () => {
  const wrong: string[] = [];
  let checked = 0;
  let skipped = 0;
  for (const b of blocks(join(ROOT, 'src'))) {
    const stated = new Map<number, Expected>();
    const js = program(b, stated);
    if (!stated.size) continue;
    // A GPU device, a page or the network: not in Node on the CPU backend.
    if (b.lines.some(([, l]) => /\bdevice\b|GPUBuffer|navigator|document\b|canvas|fetch\(/.test(l))) {
      skipped += stated.size;
      continue;
    }
    await pg.init({ backend: 'cpu' });
    const seen = new Set<number>();
    const check = async (line: number, thunk: () => Promise<unknown>) => {
      const want = stated.get(line)!;
      seen.add(line);
      const where = `${b.where.split(':')[0]}:${line}`;
      try {
        const got = await thunk();
        if (want.kind === 'throws') wrong.push(`${where}: expected to throw ${want.name}, gave ${String(got)}`);
        else if (!close(got, want.value)) wrong.push(`${where}: expected ${JSON.stringify(want.value)}, got ${ArrayBuffer.isView(got) ? `[${Array.from(got as unknown as ArrayLike<number>)}]` : JSON.stringify(got) ?? String(got)}`);
        else checked++;
      } catch (err) {
        if (want.kind === 'throws' && (err as Error).name === want.name) checked++;
        else throw err;
      }
    };
    try {
      await new AsyncFunction('pg', 'check', js)(pg, check);
    } catch (err) {
      // A name the block does not define (its context's, or a browser's): the rest of it is skipped.
      if (err instanceof ReferenceError) skipped += stated.size - seen.size;
      else wrong.push(`${b.where}: the block threw ${(err as Error).name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(checked, `${checked} stated values compared, ${skipped} skipped`).toBeGreaterThanOrEqual(MIN_CHECKED);
}, 120_000);
