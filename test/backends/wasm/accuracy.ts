/** Accuracy checks of transcendental kernels in float32 ulps against exact (double) functions. */

/** Arguments spread densely over [-10, 10], then small magnitudes down to 1e-6 where tanh's series takes over. */
export function accuracyGrid(count: number): Float32Array {
  const x = new Float32Array(count);
  for (let i = 0; i < count / 2; i++) x[i] = -10 + (20 * i) / (count / 2);
  for (let i = count / 2; i < count; i++) x[i] = (i % 2 ? -1 : 1) * 10 ** (-6 + (6 * (i - count / 2)) / (count / 2));
  return x;
}

/** The worst error of `got` against `exact` at `x`, in units of float32 spacing at the exact value. */
export function worstUlps(x: Float32Array, got: Float32Array, exact: (v: number) => number): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const want = exact(x[i]!);
    const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(want), 2 ** -126))) - 23);
    worst = Math.max(worst, Math.abs(got[i]! - want) / ulp);
  }
  return worst;
}

