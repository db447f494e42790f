/**
 * The elementwise family as data: each op's forward expression and gradient expressions in WGSL
 * (x, y = output, g = incoming gradient; a, b for binary ops) next to the same math in float64.
 */

export interface UnaryEntry {
  readonly name: string;
  readonly wgsl: string;
  readonly grad: string;
  /** What the gradient reads besides g: the input x, the output y, or nothing. */
  readonly uses: 'x' | 'y' | 'none';
  readonly f: (x: number, p: readonly number[]) => number;
  readonly df: (x: number, y: number, g: number, p: readonly number[]) => number;
  /** Inputs where the op is smooth, for gradient tests. */
  readonly domain?: { min: number; max: number };
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const UNARY: readonly UnaryEntry[] = [
  { name: 'neg', wgsl: '-x', grad: '-g', uses: 'none', f: (x) => -x, df: (_x, _y, g) => -g },
  { name: 'exp', wgsl: 'exp(x)', grad: 'g * y', uses: 'y', f: Math.exp, df: (_x, y, g) => g * y, domain: { min: -4, max: 4 } },
  { name: 'log', wgsl: 'log(x)', grad: 'g / x', uses: 'x', f: Math.log, df: (x, _y, g) => g / x, domain: { min: 0.2, max: 4 } },
  { name: 'sqrt', wgsl: 'sqrt(x)', grad: 'g * 0.5 / y', uses: 'y', f: Math.sqrt, df: (_x, y, g) => (g * 0.5) / y, domain: { min: 0.2, max: 4 } },
  { name: 'abs', wgsl: 'abs(x)', grad: 'g * sign(x)', uses: 'x', f: Math.abs, df: (x, _y, g) => g * Math.sign(x) },
  { name: 'square', wgsl: 'x * x', grad: 'g * 2.0 * x', uses: 'x', f: (x) => x * x, df: (x, _y, g) => g * 2 * x },
  { name: 'relu', wgsl: 'max(x, 0.0)', grad: 'select(0.0, g, x > 0.0)', uses: 'x', f: (x) => Math.max(x, 0), df: (x, _y, g) => (x > 0 ? g : 0) },
  { name: 'sigmoid', wgsl: 'sigmoid_f(x)', grad: 'g * y * (1.0 - y)', uses: 'y', f: sigmoid, df: (_x, y, g) => g * y * (1 - y) },
  { name: 'tanh', wgsl: 'tanh(clamp(x, -15.0, 15.0))', grad: 'g * (1.0 - y * y)', uses: 'y', f: Math.tanh, df: (_x, y, g) => g * (1 - y * y) },
  {
    name: 'clamp',
    wgsl: 'clamp(x, param(0u), param(1u))',
    // As in PyTorch, the gradient passes where min <= x <= max.
    grad: 'select(0.0, g, x >= param(0u) && x <= param(1u))',
    uses: 'x',
    f: (x, p) => Math.min(Math.max(x, p[0]!), p[1]!),
    df: (x, _y, g, p) => (x >= p[0]! && x <= p[1]! ? g : 0),
  },
];

export interface BinaryEntry {
  readonly name: string;
  readonly wgsl: string;
  readonly gradA: string;
  readonly gradB: string;
  /** Which of a, b each gradient formula reads (so backward saves only those). */
  readonly usesA: 'a' | 'b' | 'ab' | 'none';
  readonly usesB: 'a' | 'b' | 'ab' | 'none';
  readonly f: (a: number, b: number) => number;
  readonly da: (a: number, b: number, g: number) => number;
  readonly db: (a: number, b: number, g: number) => number;
  readonly domainA?: { min: number; max: number };
  readonly domainB?: { min: number; max: number };
}

/** Same conventions as pow_real in shaders/elementwise.wgsl. */
export function powReal(a: number, b: number): number {
  if (a >= 0) return a === 0 ? (b === 0 ? 1 : b < 0 ? Number.POSITIVE_INFINITY : 0) : a ** b;
  const r = (-a) ** b;
  return Number.isInteger(b) ? (Math.abs(b) % 2 === 1 ? -r : r) : Number.NaN;
}

const tieShare = (x: number, other: number) => (x > other ? 1 : x === other ? 0.5 : 0);

export const BINARY: readonly BinaryEntry[] = [
  { name: 'add', wgsl: 'a + b', gradA: 'g', gradB: 'g', usesA: 'none', usesB: 'none', f: (a, b) => a + b, da: (_a, _b, g) => g, db: (_a, _b, g) => g },
  { name: 'sub', wgsl: 'a - b', gradA: 'g', gradB: '-g', usesA: 'none', usesB: 'none', f: (a, b) => a - b, da: (_a, _b, g) => g, db: (_a, _b, g) => -g },
  { name: 'mul', wgsl: 'a * b', gradA: 'g * b', gradB: 'g * a', usesA: 'b', usesB: 'a', f: (a, b) => a * b, da: (_a, b, g) => g * b, db: (a, _b, g) => g * a },
  {
    name: 'div',
    wgsl: 'a / b',
    gradA: 'g / b',
    gradB: '-g * a / (b * b)',
    usesA: 'b',
    usesB: 'ab',
    f: (a, b) => a / b,
    da: (_a, b, g) => g / b,
    db: (a, b, g) => (-g * a) / (b * b),
    domainB: { min: 0.5, max: 3 },
  },
  {
    name: 'pow',
    wgsl: 'pow_real(a, b)',
    gradA: 'g * b * pow_real(a, b - 1.0)',
    // d/db a^b = a^b ln a, defined for a > 0; pixelgrad uses 0 where a <= 0 (PyTorch gives 0 at a = 0, NaN below).
    gradB: 'select(0.0, g * pow_real(a, b) * log(a), a > 0.0)',
    usesA: 'ab',
    usesB: 'ab',
    f: powReal,
    da: (a, b, g) => g * b * powReal(a, b - 1),
    db: (a, b, g) => (a > 0 ? g * powReal(a, b) * Math.log(a) : 0),
    domainA: { min: 0.3, max: 2 },
    domainB: { min: -2, max: 3 },
  },
  {
    name: 'maximum',
    wgsl: 'max(a, b)',
    // Ties split the gradient evenly, as PyTorch does.
    gradA: 'g * tie_share(a, b)',
    gradB: 'g * tie_share(b, a)',
    usesA: 'ab',
    usesB: 'ab',
    f: Math.max,
    da: (a, b, g) => g * tieShare(a, b),
    db: (a, b, g) => g * tieShare(b, a),
  },
  {
    name: 'minimum',
    wgsl: 'min(a, b)',
    gradA: 'g * tie_share(b, a)',
    gradB: 'g * tie_share(a, b)',
    usesA: 'ab',
    usesB: 'ab',
    f: Math.min,
    da: (a, b, g) => g * tieShare(b, a),
    db: (a, b, g) => g * tieShare(a, b),
  },
];
