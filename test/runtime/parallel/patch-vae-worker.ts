/**
 * One rank of the patch-parallel VAE test: `node --import tsx patch-vae-worker.ts <case-json> <rank> <port>`.
 * Joins a gloo group of `ranks` processes, decodes the fixture's z patch-parallel and prints the whole
 * image on a RESULT line (every rank has it; each prints it so the test checks all of them).
 */
import { Tensor } from '../../../src/runtime/native/index.js';
import { decodePatchParallel } from '../../../src/runtime/parallel/patch-vae.js';
import { loadVaeDecoder } from '../../../src/runtime/pipeline/vae/load-vae.js';
import { joinGroup } from '../../../src/runtime/rendezvous/group.js';
import { log } from '../../../src/shared/log.js';
import { pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';

interface PatchVaeCase {
  vae: string;
  file: string;
  z: number[];
  ranks: number;
}

const [caseJson = '{}', rankArg = '0', portArg = '0'] = process.argv.slice(2);
const c = JSON.parse(caseJson) as PatchVaeCase;
const group = await joinGroup({
  host: '127.0.0.1',
  port: Number(portArg),
  rank: Number(rankArg),
  degrees: { dataParallel: c.ranks, cfg: 1, pipefusion: 1, ring: 1, ulysses: 1 },
  backend: 'gloo',
  timeoutMs: 20_000,
  logger: log,
});
const decoder = loadVaeDecoder(pipelineFixture(`vae/${c.vae}`));
const z = Tensor.fromArray(new SafetensorsLite(pipelineFixture(`vae/${c.file}`)).f32('z'), c.z);
const image = await decodePatchParallel(decoder, z, group.world);
process.stdout.write(
  `RESULT ${JSON.stringify({ shape: image.shape, values: Array.from(image.toFloat32Array()) })}\n`,
);
await group.close();
process.exit(0);
