/**
 * A Diffusers repository as a hub holds one: a tiny FLUX checkpoint with real names and layout whose
 * transformer is sharded by block (so a PipeFusion stage needs only some shards), plus files a pod must
 * not download: a README, a root-level single-file checkpoint, a .bin copy of the weights and a folder
 * model_index.json does not list.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestFor, readTransformerConfig } from '../../../src/runtime/families/index.js';
import { writeTinyFlux } from '../../../src/runtime/launcher/demo/tiny-checkpoint.js';
import { SafetensorsLite, writeSafetensors } from '../../support/safetensors-lite.js';

export interface HubRepo {
  root: string;
  shards: string[];
  /** Files no pod should fetch. */
  extras: string[];
}

export function writeHubRepo(root: string): HubRepo {
  writeTinyFlux(root);
  const single = join(root, 'transformer', 'diffusion_pytorch_model.safetensors');
  const reader = new SafetensorsLite(single);
  const groups = manifestFor(readTransformerConfig(root)).groups;
  const shards: string[] = [];
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const shard = `diffusion_pytorch_model-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`;
    writeSafetensors(
      join(root, 'transformer', shard),
      group.tensors.map((t) => ({
        name: t.name,
        dtype: reader.dtype(t.name),
        shape: reader.shape(t.name),
        bytes: reader.bytesOf(t.name),
      })),
    );
    for (const t of group.tensors) weightMap[t.name] = shard;
    shards.push(`transformer/${shard}`);
  });
  rmSync(single);
  writeFileSync(
    join(root, 'transformer', 'diffusion_pytorch_model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2),
  );
  const extras = [
    'README.md',
    'tiny-flux-single-file.safetensors',
    'transformer/diffusion_pytorch_model.bin',
    'text_encoder_unlisted/config.json',
  ];
  writeFileSync(join(root, 'README.md'), '# tiny FLUX\n');
  writeFileSync(join(root, 'tiny-flux-single-file.safetensors'), Buffer.alloc(4096, 7));
  writeFileSync(join(root, 'transformer', 'diffusion_pytorch_model.bin'), Buffer.alloc(4096, 9));
  mkdirSync(join(root, 'text_encoder_unlisted'), { recursive: true });
  writeFileSync(join(root, 'text_encoder_unlisted', 'config.json'), '{}');
  return { root, shards, extras };
}
