/**
 * The elementwise family as data: each op's forward expression and gradient expressions in WGSL
 * (x, y = output, g = incoming gradient; a, b for binary ops) next to the same math in float64.
 *
 * Edge values follow PyTorch on every adapter: NaN in gives NaN out (maximum, minimum, relu,
 * clamp, tanh included, where WGSL's max/min/clamp may drop it); log, sqrt and pow define 0,
 * negatives and infinities explicitly (WGSL leaves them to the implementation) through the
 * helpers in shaders/elementwise.wgsl. The gradient convention at a kink or a pole is written
 * beside each rule. Denormals may be flushed to zero on the GPU (WGSL allows it).
 */

export interface UnaryEntry {
  readonly name: string;
  readonly wgsl: string;
  readonly grad: string;
  /** What the gradient reads besides g: the input x, the output y, or nothing. */
  readonly uses: 'x' | 'y' | 'none';
  /**
   * The gradient with its factor y taken out (grad = gradPerY · y), for a gradient that arrives
   * holding a factor that y cancels: a pow's gradient for its base, a^(b−1), times a is a^b, the
   * pow's own output, so the exp2 of a^(b−1) is never computed (src/ops/elementwise.ts).
   */
  readonly gradPerY?: string;
  readonly f: (x: number, p: readonly number[]) => number;
  readonly df: (x: number, y: number, g: number, p: readonly number[]) => number;
  /** Inputs where the op is smooth, for gradient tests. */
  readonly domain?: { min: number; max: number };
}

/**
 * Comparisons and logic give float32 masks of 1 and 0. WGSL lets an implementation assume no NaN,
 * so the NaN cases are spelled out with is_nan_f: every ordered comparison with a NaN is false and
 * `ne` is true (IEEE, as PyTorch); for logic a NaN is nonzero, so true.
 */
const noNan = '!is_nan_f(a) & !is_nan_f(b)';
const isZero = /* @__NO_SIDE_EFFECTS__ */ (v: string) => `((${v} == 0.0) & !is_nan_f(${v}))`;
const mask = /* @__NO_SIDE_EFFECTS__ */ (cond: string) => `select(0.0, 1.0, ${cond})`;

/** A comparison or logical op: a mask with no gradient (0 for both operands, whatever they are). */
/* @__NO_SIDE_EFFECTS__ */
function maskEntry(name: string, wgsl: string, f: (a: number, b: number) => boolean): BinaryEntry {
  return { name, wgsl, gradA: '0.0', gradB: '0.0', usesA: 'none', usesB: 'none', f: (a, b) => +f(a, b), da: () => 0, db: () => 0 };
}

const roundEven = (x: number) => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const UNARY: readonly UnaryEntry[] = [
  { name: 'neg', wgsl: '-x', grad: '-g', uses: 'none', f: (x) => -x, df: (_x, _y, g) => -g },
  // exp(NaN) = NaN (WGSL's exp of NaN is undefined: SwiftShader gives inf).
  { name: 'exp', wgsl: 'select(exp(x), x, is_nan_f(x))', grad: 'g * y', uses: 'y', gradPerY: 'g', f: Math.exp, df: (_x, y, g) => g * y, domain: { min: -4, max: 4 } },
  // log(0) = -inf, log(x < 0) = NaN, log(inf) = inf (Math.log agrees). Gradient g / x: ±inf at 0, as PyTorch.
  { name: 'log', wgsl: 'log_real(x)', grad: 'g / x', uses: 'x', f: Math.log, df: (x, _y, g) => g / x, domain: { min: 0.2, max: 4 } },
  // sqrt(x < 0) = NaN, sqrt(0) = 0, sqrt(inf) = inf. Gradient g / (2 sqrt x): inf at 0, as PyTorch.
  { name: 'sqrt', wgsl: 'sqrt_real(x)', grad: 'g * 0.5 / y', uses: 'y', f: Math.sqrt, df: (_x, y, g) => (g * 0.5) / y, domain: { min: 0.2, max: 4 } },
  // Gradient sign(x): 0 at 0 and at NaN, as PyTorch's sign, (0 < x) - (x < 0) (WGSL's sign of NaN is undefined).
  { name: 'abs', wgsl: 'abs(x)', grad: 'select(select(0.0, -g, x < 0.0), g, x > 0.0)', uses: 'x', f: Math.abs, df: (x, _y, g) => (x > 0 ? g : x < 0 ? -g : 0) },
  { name: 'square', wgsl: 'x * x', grad: 'g * 2.0 * x', uses: 'x', f: (x) => x * x, df: (x, _y, g) => g * 2 * x },
  // relu(NaN) = NaN. Gradient 1 above 0, 0 at 0, below 0 and at NaN (PyTorch's threshold_backward).
  { name: 'relu', wgsl: 'select(max(x, 0.0), x, is_nan_f(x))', grad: 'select(0.0, g, x > 0.0)', uses: 'x', f: (x) => Math.max(x, 0), df: (x, _y, g) => (x > 0 ? g : 0) },
  { name: 'sigmoid', wgsl: 'select(sigmoid_f(x), x, is_nan_f(x))', grad: 'g * y * (1.0 - y)', uses: 'y', gradPerY: 'g * (1.0 - y)', f: sigmoid, df: (_x, y, g) => g * y * (1 - y) },
  // Clamped at ±15 (tanh is ±1 in float32 there; some adapters overflow exp inside tanh); tanh(NaN) = NaN.
  { name: 'tanh', wgsl: 'select(tanh(clamp(x, -15.0, 15.0)), x, is_nan_f(x))', grad: 'g * (1.0 - y * y)', uses: 'y', f: Math.tanh, df: (_x, y, g) => g * (1 - y * y) },
  {
    name: 'clamp',
    wgsl: 'select(clamp(x, param(0u), param(1u)), x, is_nan_f(x))',
    // clamp(NaN) = NaN. As in PyTorch, the gradient passes where min <= x <= max (both ends
    // included; not at NaN).
    grad: 'select(0.0, g, (x >= param(0u)) & (x <= param(1u)))',
    uses: 'x',
    f: (x, p) => Math.min(Math.max(x, p[0]!), p[1]!),
    df: (x, _y, g, p) => (x >= p[0]! && x <= p[1]! ? g : 0),
  },
  // 1 where x is 0, else 0 (NaN is nonzero, so true, as PyTorch's bool(NaN)). A mask carries no
  // gradient (PyTorch's bool outputs do not require grad); the rule says 0 for the registry tests.
  { name: 'logicalNot', wgsl: `select(0.0, 1.0, ${isZero('x')})`, grad: '0.0', uses: 'none', f: (x) => +(x === 0), df: () => 0 },
  // The int32 conversion (t.to('int32'), shaders/elementwise.wgsl's to_int32): toward zero, or to
  // the nearest (ties to even, as WGSL's round) when param 0 is 1 (an int32 pow, whose float result
  // may miss the whole number by an ulp); NaN gives 0, clamped to ±2^24 (int32's exact range).
  {
    name: 'toInt32',
    wgsl: 'to_int32(x, param(0u) > 0.0)',
    grad: '0.0',
    uses: 'none',
    f: (x, p) => (Number.isNaN(x) ? 0 : Math.min(Math.max(p[0]! > 0 ? roundEven(x) : Math.trunc(x), -(2 ** 24)), 2 ** 24) + 0),
    df: () => 0,
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
  /**
   * Cheaper gradients for two tensor operands that also read the output y (a, b, y all loaded):
   * the compiler shares y with the forward pass in a fused kernel, so reading it costs nothing.
   */
  readonly withY?: {
    readonly gradA: string;
    readonly gradB: string;
    /**
     * A function of a alone (`expr`, loaded as `l`) that the forward (`forward`, reading a, b, l)
     * and both gradients share: one node, so a fused kernel evaluates it once (pow: log2|a|).
     */
    readonly l?: { readonly expr: string; readonly forward: string };
    /** The forward and the gradients where a is never negative (src/ir/expr.ts, rangeOf). */
    readonly nonNegative?: { readonly forward: string; readonly gradA: string; readonly gradB: string };
    /**
     * Where a is also never above 1 (src/ir/expr.ts, rangeOf): l and the forward without tests
     * for an infinite base, and gradATimesA without them.
     */
    readonly unit?: { readonly l: string; readonly forward: string; readonly gradATimesA: string };
    /** a's gradient times a, where that product is cheaper than the gradient (see UnaryEntry.gradPerY). */
    readonly gradATimesA?: string;
  };
  readonly f: (a: number, b: number) => number;
  readonly da: (a: number, b: number, g: number) => number;
  readonly db: (a: number, b: number, g: number) => number;
  readonly domainA?: { min: number; max: number };
  readonly domainB?: { min: number; max: number };
}

/**
 * C's pow, as PyTorch (JavaScript's ** differs: 1 ** NaN is NaN there), step for step as pow_real
 * in shaders/elementwise.wgsl: x^0 = 1 and 1^y = 1 even for NaN; otherwise NaN gives NaN; 0^y is
 * 0 or inf (the sign of a zero base is not kept); a finite negative base needs an integer exponent.
 */
export function powReal(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  const m = Math.abs(a);
  const infB = !Number.isFinite(b);
  const oddInt = !infB && Number.isInteger(b) && Math.abs(b) < 2 ** 24 && Math.abs(b) % 2 === 1;
  if (a < 0 && Number.isFinite(a) && !infB && !Number.isInteger(b)) return Number.NaN;
  let r: number;
  if (infB) {
    if (m === 1) return 1;
    r = m > 1 === b > 0 ? Number.POSITIVE_INFINITY : 0;
  } else if (m === 0) r = b < 0 ? Number.POSITIVE_INFINITY : 0;
  else if (!Number.isFinite(m)) r = b > 0 ? Number.POSITIVE_INFINITY : 0;
  else r = m ** b;
  return a < 0 && oddInt ? -r : r;
}

/** maximum's gradient share for x against `other`: 1 above, 0.5 at a tie, 0 below; 1 with a NaN (as PyTorch). */
const tieShare = (x: number, other: number) => (x < other ? 0 : x === other ? 0.5 : 1);

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
    // d/da = b a^(b-1), and 0 wherever b = 0 (x^0 is constant: 0, not 0·inf = NaN, at x = 0), as PyTorch.
    gradA: 'select(g * b * pow_real(a, b - 1.0), 0.0, b == 0.0)',
    // d/db = a^b ln a: 0 at a = 0 with b >= 0, NaN for a negative base (ln a), as PyTorch.
    gradB: 'select(g * pow_real(a, b) * log_real(a), 0.0, (a == 0.0) & (b >= 0.0))',
    // With y = a^b and l = log2|a| shared with the forward: one log and two exp2 for the forward
    // and both gradients, where pow_real three times and log_real take three pows and a log.
    withY: {
      gradA: 'select(g * b * pow_less1(a, b, y, l), 0.0, b == 0.0)',
      gradB: 'select(g * y * ln_log2(a, l), 0.0, (a == 0.0) & (b >= 0.0))',
      l: { expr: 'log2_abs(a)', forward: 'pow_log(a, b, l)' },
      // A sigmoid's or an exp's output: no sign or integer tests (a tone curve's step, 25% faster).
      nonNegative: {
        forward: 'pow_nonneg(a, b, l)',
        gradA: 'select(g * b * pow_less1_nonneg(a, b, y, l), 0.0, b == 0.0)',
        // ln_log2 without its test for a negative a.
        gradB: 'select(g * y * (l * 0.6931471805599453), 0.0, (a == 0.0) & (b >= 0.0))',
      },
      // A sigmoid's output: a tone curve's step 5% faster.
      unit: {
        l: 'log2_unit(a)',
        forward: 'pow_unit(a, b, l)',
        gradATimesA: 'select(select(g * b * y, g * b * pow_less1_edge(a, b) * a, a == 0.0), a - a, b == 0.0)',
      },
      // a^(b−1)·a = a^b = y, one exp2 fewer. A base of 0 or inf and b = 0 multiply out as the
      // general rule does (0·inf = NaN, as PyTorch; 0·a is written a − a, as l − l in pow_log, since
      // a compiler may fold 0.0 * a to 0). Where a^(b−1) alone overflows (a tiny, b < −1) this is
      // the finite value float64 gives, not the general rule's inf.
      gradATimesA: 'select(select(g * b * y, g * b * pow_less1_edge(a, b) * a, (a == 0.0) | is_inf_f(a)), a - a, b == 0.0)',
    },
    usesA: 'ab',
    usesB: 'ab',
    f: powReal,
    da: (a, b, g) => (b === 0 ? 0 : g * b * powReal(a, b - 1)),
    db: (a, b, g) => (a === 0 && b >= 0 ? 0 : g * powReal(a, b) * Math.log(a)),
    domainA: { min: 0.3, max: 2 },
    domainB: { min: -2, max: 3 },
  },
  {
    name: 'maximum',
    wgsl: 'max_nan(a, b)',
    // NaN if either is (Math.max agrees). Ties split the gradient evenly; a NaN passes it to both, as PyTorch.
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
    // As maximum, mirrored.
    wgsl: 'min_nan(a, b)',
    gradA: 'g * tie_share(b, a)',
    gradB: 'g * tie_share(a, b)',
    usesA: 'ab',
    usesB: 'ab',
    f: Math.min,
    da: (a, b, g) => g * tieShare(b, a),
    db: (a, b, g) => g * tieShare(a, b),
  },
  maskEntry('eq', mask(`(a == b) & ${noNan}`), (a, b) => a === b),
  maskEntry('ne', mask(`!((a == b) & ${noNan})`), (a, b) => a !== b),
  maskEntry('lt', mask(`(a < b) & ${noNan}`), (a, b) => a < b),
  maskEntry('le', mask(`(a <= b) & ${noNan}`), (a, b) => a <= b),
  maskEntry('gt', mask(`(a > b) & ${noNan}`), (a, b) => a > b),
  maskEntry('ge', mask(`(a >= b) & ${noNan}`), (a, b) => a >= b),
  maskEntry('logicalAnd', mask(`!${isZero('a')} & !${isZero('b')}`), (a, b) => a !== 0 && b !== 0),
  maskEntry('logicalOr', mask(`!${isZero('a')} | !${isZero('b')}`), (a, b) => a !== 0 || b !== 0),
];
