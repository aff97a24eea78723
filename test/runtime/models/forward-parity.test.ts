/**
 * One transformer forward per committed Diffusers golden (every fixture checkpoint, every forward case),
 * through the same path as `tessera run-transformer`. Acceptance: max relative error ≤ 1e-4, where
 * max relative error = max|ours − diffusers| / max|diffusers| over the whole `sample` tensor.
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runForward } from '../../../src/cli/commands/run-transformer.js';
import { loadTransformer, NamedTensors } from '../../../src/runtime/model-loader/index.js';
import { checkpointDir, maxRelativeError, REFERENCE_DIR, referenceCheckpoints } from './fixtures.js';

const FORWARD_TOLERANCE = 1e-4;

describe('transformer forward matches Diffusers', () => {
  for (const checkpoint of referenceCheckpoints()) {
    const cases = checkpoint.cases.filter((c) => c.kind === 'forward');
    it.each(cases.map((c) => [c.case, c] as const))(`${checkpoint.name} %s`, async (_, reference) => {
      const loaded = loadTransformer(checkpointDir(checkpoint));
      const file = NamedTensors.read(join(REFERENCE_DIR, reference.file));
      const golden = file.required('sample', 'the golden output');
      // The file holds the golden `sample` beside the inputs; the forward must not see it.
      const sample = await runForward(loaded, file.without(['sample']));
      const error = maxRelativeError(sample, golden);
      process.stdout.write(
        `forward ${checkpoint.name}/${reference.case}: max relative error ${error.toExponential(2)}\n`,
      );
      expect(error).toBeLessThan(FORWARD_TOLERANCE);
      loaded.weights.release();
    });
  }
});
