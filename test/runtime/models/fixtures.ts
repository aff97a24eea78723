/**
 * What the model tests add to test/support/reference-fixtures.ts (the committed Diffusers goldens): the
 * list of checkpoints and the error measure the acceptance criteria use.
 */
import type { Tensor } from '../../../src/runtime/native/index.js';
import {
  checkpointDir as checkpointDirOf,
  type ReferenceCheckpoint,
  referenceManifest,
} from '../../support/reference-fixtures.js';

export { REFERENCE_DIR } from '../../support/reference-fixtures.js';

export const referenceCheckpoints = (): ReferenceCheckpoint[] => referenceManifest().checkpoints;

export const checkpointDir = (c: ReferenceCheckpoint): string => checkpointDirOf(c.name);

/**
 * Max relative error as the issue defines it: max|a − b| / max|b| over the whole tensor (b = Diffusers).
 * Shapes must match exactly; a NaN anywhere counts as an infinite error.
 */
export function maxRelativeError(actual: Tensor, expected: Tensor): number {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(
      `shape [${actual.shape.join(', ')}] differs from the golden's [${expected.shape.join(', ')}]`,
    );
  }
  const a = actual.toFloat32Array();
  const b = expected.toFloat32Array();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  if (scale === 0) throw new Error('golden tensor is all zeros: the relative error is undefined');
  return diff / scale;
}
