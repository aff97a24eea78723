/**
 * Which files of a repository a pod downloads. Like Diffusers' from_pretrained: model_index.json and the
 * folders of the components it lists, safetensors only (no .bin/.ckpt/.onnx copies, no `.fp16`-style
 * variants, no root-level single-file checkpoints). With a plan, the transformer's shards are cut down to
 * those holding the blocks of this pod's PipeFusion stages (plus embedders on the first stage and the
 * head on the last), read from the shard index.
 */
import { join } from 'node:path';
import type { Plan } from '../../shared/plan/index.js';
import { rankToCoords } from '../../shared/plan/index.js';
import { readModelIndex, SHARD_INDEX, stageTensors } from '../checkpoint/index.js';
import { manifestFor, readTransformerConfig } from '../families/index.js';
import { stageRange } from '../parallel-denoise/stages.js';
import type { HubFile } from './repo-info.js';

export const MODEL_INDEX = 'model_index.json';
const OTHER_WEIGHT_FORMATS = /\.(bin|ckpt|pt|pth|msgpack|h5|onnx|onnx_data|gguf)$/;

/** The files of the components model_index.json lists, without other weight formats or variants. */
export function componentFiles(files: readonly HubFile[], components: readonly string[]): HubFile[] {
  const paths = new Set(files.map((f) => f.path));
  return files.filter((f) => {
    const [folder, ...rest] = f.path.split('/');
    if (rest.length === 0) return f.path === MODEL_INDEX;
    if (!folder || !components.includes(folder)) return false;
    const name = rest[rest.length - 1] ?? '';
    if (OTHER_WEIGHT_FORMATS.test(name)) return false;
    // `x.fp16.safetensors` (or its index) next to `x.safetensors` is a variant of the same weights.
    const variant = /^(.*)\.[A-Za-z0-9_]+\.(safetensors|safetensors\.index\.json)$/.exec(f.path);
    return !(variant && paths.has(`${variant[1]}.${variant[2]}`));
  });
}

/** Non-weight files (configs, tokenizers, shard indexes): small, fetched first. */
export function isWeightFile(file: HubFile): boolean {
  return file.path.endsWith('.safetensors');
}

/** The pipeline stages whose blocks some rank of pod `podIndex` holds. */
export function podStages(plan: Plan, podIndex: number): number[] {
  const stages = new Set<number>();
  for (const r of plan.ranks) {
    if (r.pod === podIndex) stages.add(rankToCoords(r.rank, plan.degrees).pipefusion);
  }
  return [...stages].sort((a, b) => a - b);
}

/**
 * The transformer shards pod `podIndex` needs, from the files already in `folder` (model_index.json,
 * transformer/config.json and the shard index). Undefined when every shard is needed: a single-file
 * transformer, no PipeFusion, or stages that together span the model.
 */
export function transformerShardsFor(
  folder: string,
  plan: Plan,
  podIndex: number,
  readIndex: (path: string) => Record<string, string>,
): Set<string> | undefined {
  const stages = plan.degrees.pipefusion;
  if (stages <= 1) return undefined;
  const config = readTransformerConfig(folder, readModelIndex(folder));
  const manifest = manifestFor(config);
  const weightMap = readIndex(join(folder, 'transformer', SHARD_INDEX));
  const shards = new Set<string>();
  for (const stage of podStages(plan, podIndex)) {
    for (const tensor of stageTensors(manifest, stageRange(config, stages, stage))) {
      const shard = weightMap[tensor.name];
      if (shard) shards.add(`transformer/${shard}`);
    }
  }
  return shards;
}
