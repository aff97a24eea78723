/**
 * A seeded Flux checkpoint too large to write on each run (FLUX.1 width: gigabytes), kept in the
 * git-ignored .cache/bench-checkpoints/<name>/ as two folders holding the same weights, f32/ and bf16/ (the
 * f32 values rounded, as a bf16 release is stored). Written tensor by tensor, so the writer never holds the
 * checkpoint; written once: `complete.json` names the shape, and a different shape rewrites the folder.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type TinyFluxShape,
  tinyFluxTensorShapes,
  tinyFluxValues,
  writeTinyFluxFolder,
} from '../../src/runtime/launcher/demo/tiny-checkpoint.js';
import { SafetensorsFile, type Tensor } from '../../src/runtime/native/index.js';
import {
  type SafetensorsEntry,
  writeSafetensorsStreamed,
} from '../../src/runtime/native/safetensors-writer.js';

const cacheRoot = resolve(import.meta.dirname, '../../.cache/bench-checkpoints');
const weightsFile = (folder: string) => join(folder, 'transformer', 'diffusion_pytorch_model.safetensors');

const bytesOf = (t: Tensor): Uint8Array => {
  const data = t.data();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
};

/** The f32 and bf16 folders of `name`, written first if missing or made for another shape. */
export function cachedFluxCheckpoint(name: string, shape: TinyFluxShape): { f32: string; bf16: string } {
  const root = join(cacheRoot, name);
  const folders = { f32: join(root, 'f32'), bf16: join(root, 'bf16') };
  const marker = join(root, 'complete.json');
  const wanted = JSON.stringify(shape);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return folders;
  rmSync(root, { recursive: true, force: true });
  for (const folder of Object.values(folders)) writeTinyFluxFolder(folder, shape);

  const shapes = tinyFluxTensorShapes(folders.f32);
  const f32Entries = shapes.map((t): SafetensorsEntry => ({ ...t, dtype: 'f32' }));
  writeSafetensorsStreamed(weightsFile(folders.f32), f32Entries, (entry, index) => {
    return new Uint8Array(tinyFluxValues(entry, index).buffer);
  });

  const source = SafetensorsFile.open(weightsFile(folders.f32));
  try {
    const bf16Entries = f32Entries.map((e): SafetensorsEntry => ({ ...e, dtype: 'bf16' }));
    writeSafetensorsStreamed(weightsFile(folders.bf16), bf16Entries, (entry) => {
      const f32 = source.read(entry.name);
      const bf16 = f32.to('bf16');
      f32.release();
      const bytes = bytesOf(bf16).slice();
      bf16.release();
      return bytes;
    });
  } finally {
    source.close();
  }
  writeFileSync(marker, wanted);
  return folders;
}
