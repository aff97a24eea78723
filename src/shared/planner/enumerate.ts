import type { Degrees } from '../plan/index.js';
import type { GroupSize } from './types.js';

/** The group sizes a policy allows, smallest first. */
export function groupSizes(size: GroupSize): number[] {
  if (typeof size === 'number') return [size];
  const out: number[] = [];
  for (let g = size.min; g <= size.max; g++) out.push(g);
  return out;
}

function divisors(n: number): number[] {
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 1; i * i <= n; i++) {
    if (n % i !== 0) continue;
    small.push(i);
    if (i * i !== n) large.unshift(n / i);
  }
  return small.concat(large);
}

/**
 * Every ordered factorisation dataParallel × cfg × pipefusion × ring × ulysses = gpus with cfg ∈ {1, 2}
 * (the only values CFG parallel has; other rules are checked, with reasons, by the rules module).
 */
export function factorisations(gpus: number): Degrees[] {
  const out: Degrees[] = [];
  for (const cfg of [1, 2]) {
    if (gpus % cfg !== 0) continue;
    const rest = gpus / cfg;
    for (const dataParallel of divisors(rest)) {
      const r1 = rest / dataParallel;
      for (const pipefusion of divisors(r1)) {
        const r2 = r1 / pipefusion;
        for (const ring of divisors(r2)) {
          out.push({ dataParallel, cfg, pipefusion, ring, ulysses: r2 / ring });
        }
      }
    }
  }
  return out;
}
