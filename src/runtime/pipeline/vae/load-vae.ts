/** The pipeline's `vae/` folder → its decoder, checked like the transformer (components/). */
import { DIFFUSERS_WEIGHT_FILES } from '../../checkpoint/index.js';
import { loadComponent, readComponentConfig } from '../components/component-weights.js';
import { VaeDecoder } from './decoder.js';
import { parseVaeConfig, vaeBlockCounts, vaeManifest, vaeUnused } from './vae-config.js';

export function loadVaeDecoder(dir: string): VaeDecoder {
  const { parsed, weights } = loadComponent(readComponentConfig(dir), {
    files: DIFFUSERS_WEIGHT_FILES,
    parse: parseVaeConfig,
    manifest: vaeManifest,
    blockCounts: vaeBlockCounts,
    unused: vaeUnused,
  });
  return new VaeDecoder(parsed, weights);
}
