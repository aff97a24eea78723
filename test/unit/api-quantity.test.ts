import { describe, expect, it } from 'vitest';
import { quantityValue } from '../../src/shared/api/v1alpha1/index.js';

describe('quantityValue', () => {
  it.each([
    ['80Gi', 80 * 2 ** 30],
    ['48G', 48e9],
    ['500m', 0.5],
    ['1.5Ki', 1536],
    ['4', 4],
    ['1e3', 1000],
    ['2E', 2e18],
    [16, 16],
  ])('reads %s', (input, expected) => {
    expect(quantityValue(input)).toBeCloseTo(expected, 9);
  });

  it.each(['lots', '80 Gi', 'Gi', '1.2.3G', ''])('refuses "%s", naming the field', (input) => {
    expect(() => quantityValue(input, 'spec.topology.gpuMemory')).toThrow(/^spec\.topology\.gpuMemory: /);
  });
});
