/**
 * Denoise requests read from files, shared by `tessera denoise` (the one-process reference) and the
 * parallel runtime, so both accept the same inputs: the `--inputs` safetensors turned into DenoiseInputs
 * by the checkpoint's family, and the result written back in the layout the inputs came in.
 */
import { log } from '../../shared/log.js';
import type { FileInputs } from '../families/index.js';
import type { LoadedTransformer, NamedTensors } from '../model-loader/index.js';

const logger = log.child({ component: 'denoise' });

/** How many ignored names a warning lists; the count says how many there were. */
const LOGGED_NAMES = 10;

export function denoiseInputs(loaded: LoadedTransformer, named: NamedTensors): FileInputs {
  const { family } = loaded.arch;
  const unknown = named.unknown(family.fileInputNames);
  if (unknown.length > 0) {
    logger.warn(
      { ignored: unknown.slice(0, LOGGED_NAMES), ignoredCount: unknown.length },
      'inputs file has tensors the denoiser does not read',
    );
  }
  return family.inputsFromFile(named);
}
