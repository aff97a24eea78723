/** Comparing 8-bit images: the share of pixels (channel values) within `levels` of the golden. */
export function pixelAgreement(
  ours: ArrayLike<number>,
  golden: ArrayLike<number>,
  levels = 1,
): { within: number; total: number; share: number; worst: number } {
  if (ours.length !== golden.length) throw new Error(`${ours.length} values, golden has ${golden.length}`);
  let within = 0;
  let worst = 0;
  for (let i = 0; i < golden.length; i++) {
    const d = Math.abs((ours[i] as number) - (golden[i] as number));
    if (d <= levels) within++;
    worst = Math.max(worst, d);
  }
  return { within, total: golden.length, share: within / golden.length, worst };
}
