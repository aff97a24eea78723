/**
 * Reading Diffusers/Transformers checkpoints in safetensors format: one file, or a folder of shards with
 * a `*.safetensors.index.json`. The native reader maps each file and validates its whole header when it
 * opens (runtime.md §6); tensors are copied out one at a time, optionally converted (e.g. bf16 → f32 once
 * at load, so the GEMMs never convert). Shards are opened only when one of their tensors is read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { log } from '../../shared/log.js';
import { type DType, type NativeSafetensorsFile, nativeCore } from './binding.js';
import { Tensor } from './tensor.js';

const logger = log.child({ component: 'safetensors' });

export interface TensorInfo {
  name: string;
  /** As stored: 'F32', 'BF16', 'F16', ... */
  dtype: string;
  shape: number[];
  /** The file that holds the tensor. */
  file: string;
}

export interface ReadOptions {
  /** Convert to this dtype while loading; default: keep the stored dtype. */
  dtype?: DType;
}

/** One validated safetensors file. Errors name the file and the reason. */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly native: NativeSafetensorsFile;
  private readonly entries: Map<string, TensorInfo>;

  private constructor(path: string, native: NativeSafetensorsFile) {
    this.path = path;
    this.native = native;
    this.metadata = Object.freeze(native.metadata());
    this.entries = new Map(
      native.tensors().map((e) => [e.name, { name: e.name, dtype: e.dtype, shape: e.shape, file: path }]),
    );
  }

  static open(path: string): SafetensorsFile {
    const core = nativeCore();
    return new SafetensorsFile(path, new core.SafetensorsFile(path));
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`safetensors file '${this.path}': no tensor named "${name}"`);
    return entry;
  }

  read(name: string, options: ReadOptions = {}): Tensor {
    return new Tensor(this.native.read(name, options.dtype));
  }

  close(): void {
    this.native.close();
  }
}

/** A checkpoint: a single safetensors file, or a sharded folder described by an index. */
export class Checkpoint {
  readonly path: string;
  private readonly locations: Map<string, string>;
  private readonly shards = new Map<string, SafetensorsFile>();

  private constructor(path: string, locations: Map<string, string>, opened?: SafetensorsFile) {
    this.path = path;
    this.locations = locations;
    if (opened) this.shards.set(opened.path, opened);
  }

  /**
   * Opens a `.safetensors` file, a `*.safetensors.index.json`, or a folder holding exactly one index
   * (sharded) or exactly one `.safetensors` file.
   */
  static open(path: string): Checkpoint {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(path);
    } catch (err) {
      throw new Error(`checkpoint '${path}': cannot read: ${(err as Error).message}`, { cause: err });
    }
    if (stats.isDirectory()) return Checkpoint.open(join(path, pickFolderEntry(path)));
    if (path.endsWith('.safetensors.index.json')) return Checkpoint.fromIndex(path);
    const file = SafetensorsFile.open(path);
    const locations = new Map(file.names().map((n) => [n, path]));
    logger.debug({ path, tensors: locations.size }, 'opened safetensors file');
    return new Checkpoint(path, locations, file);
  }

  private static fromIndex(indexPath: string): Checkpoint {
    const weightMap = parseIndex(indexPath);
    const folder = join(indexPath, '..');
    const locations = new Map<string, string>();
    for (const [name, shard] of Object.entries(weightMap)) locations.set(name, join(folder, shard));
    logger.debug({ path: indexPath, tensors: locations.size }, 'opened sharded checkpoint index');
    return new Checkpoint(indexPath, locations);
  }

  names(): string[] {
    return [...this.locations.keys()];
  }

  has(name: string): boolean {
    return this.locations.has(name);
  }

  /** The shard files, in index order (only these are ever opened). */
  files(): string[] {
    return [...new Set(this.locations.values())];
  }

  info(name: string): TensorInfo {
    return this.shardOf(name).info(name);
  }

  read(name: string, options: ReadOptions = {}): Tensor {
    return this.shardOf(name).read(name, options);
  }

  /** Unmaps every opened shard. */
  close(): void {
    for (const shard of this.shards.values()) shard.close();
    this.shards.clear();
  }

  private shardOf(name: string): SafetensorsFile {
    const file = this.locations.get(name);
    if (file === undefined) throw new Error(`checkpoint '${this.path}': no tensor named "${name}"`);
    let shard = this.shards.get(file);
    if (!shard) {
      shard = SafetensorsFile.open(file);
      this.shards.set(file, shard);
      logger.debug({ file, tensors: shard.names().length }, 'opened shard');
    }
    if (!shard.has(name)) {
      throw new Error(
        `checkpoint '${this.path}': the index maps "${name}" to '${basename(file)}', which has no such tensor`,
      );
    }
    return shard;
  }
}

function pickFolderEntry(folder: string): string {
  const entries = readdirSync(folder);
  const indexes = entries.filter((e) => e.endsWith('.safetensors.index.json'));
  if (indexes.length === 1 && indexes[0] !== undefined) return indexes[0];
  if (indexes.length > 1)
    throw new Error(`checkpoint '${folder}': several indexes (${indexes.join(', ')}); name one`);
  const files = entries.filter((e) => e.endsWith('.safetensors'));
  if (files.length === 1 && files[0] !== undefined) return files[0];
  if (files.length === 0)
    throw new Error(`checkpoint '${folder}': no .safetensors file or index in the folder`);
  throw new Error(`checkpoint '${folder}': ${files.length} .safetensors files and no index; name one`);
}

/** Reads and checks `weight_map`: tensor name → shard file name inside the index's folder. */
function parseIndex(indexPath: string): Record<string, string> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new Error(
      `safetensors index '${indexPath}': ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (err) {
    return fail(`cannot read as JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return fail('not a JSON object');
  const weightMap = (parsed as { weight_map?: unknown }).weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    return fail('weight_map is missing or not an object');
  }
  const result: Record<string, string> = {};
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') return fail(`weight_map["${name}"] is not a string`);
    // Shards must sit beside the index: no paths that could escape the checkpoint folder.
    if (shard === '' || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..') {
      return fail(`weight_map["${name}"] = "${shard}" is not a file name in the index's folder`);
    }
    if (!shard.endsWith('.safetensors'))
      return fail(`weight_map["${name}"] = "${shard}" is not a .safetensors file`);
    result[name] = shard;
  }
  return result;
}
