/** The bench's one quantile: linear interpolation between order statistics (NumPy's default). No imports, so Node and page code share it. */

/** The p-quantile (0 ≤ p ≤ 1) of xs, interpolating between neighbours; undefined for no samples. */
export function quantile(xs: readonly number[], p: number): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** The median: quantile(xs, 0.5). */
export const median = (xs: readonly number[]): number | undefined => quantile(xs, 0.5);
