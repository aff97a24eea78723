import type { Degrees } from '../../shared/plan/index.js';

const GiB = 2 ** 30;

export function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/** Seconds with enough digits to compare candidates. */
export function seconds(s: number): string {
  return s >= 10 ? s.toFixed(1) : s >= 0.1 ? s.toFixed(2) : s.toFixed(4);
}

/** Groups contiguous ranks: [0,1,2,5] → "0-2, 5". */
export function rankRanges(ranks: readonly number[]): string {
  const out: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  for (const r of [...ranks, Number.NaN]) {
    if (start !== undefined && prev !== undefined && r === prev + 1) {
      prev = r;
      continue;
    }
    if (start !== undefined && prev !== undefined) out.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = r;
    prev = r;
  }
  return out.join(', ');
}

export function degreesLong(d: Degrees): string {
  return `dataParallel=${d.dataParallel} cfg=${d.cfg} pipefusion=${d.pipefusion} ring=${d.ring} ulysses=${d.ulysses}`;
}
