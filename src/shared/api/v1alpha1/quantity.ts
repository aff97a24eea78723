import type { Quantity } from './primitives.js';

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?(?:\d+(?:\.\d*)?|\.\d+))?$/;

/**
 * The value of a Kubernetes quantity as a plain number (`80Gi` → 85899345920, `500m` → 0.5, `1e3` →
 * 1000). The CRD schema already checks the syntax; this throws a RangeError naming `field` for
 * anything else, so callers holding unchecked input get a clear message.
 */
export function quantityValue(quantity: Quantity, field = 'quantity'): number {
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (match === null) {
    throw new RangeError(`${field}: "${quantity}" is not a Kubernetes quantity (e.g. 80Gi, 48G, 500m)`);
  }
  const [, digits = '', suffix = ''] = match;
  const base = Number(digits);
  if (suffix.startsWith('e') || suffix.startsWith('E')) {
    if (suffix.length > 1) return base * 10 ** Number(suffix.slice(1));
  }
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  if (factor === undefined) throw new RangeError(`${field}: unknown suffix in "${quantity}"`);
  return base * factor;
}
