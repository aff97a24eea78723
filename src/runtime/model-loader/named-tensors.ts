/**
 * Input/output files of the reference commands: a safetensors file of tensors named as Diffusers'
 * arguments. Reading converts every tensor to f32; a missing required name fails naming it.
 */
import { SafetensorsFile, type Tensor } from '../native/index.js';

/**
 * A request needs at most five tensors and a golden file a few more; a file with thousands of (possibly
 * empty) tensors is refused before any is read, so it can neither cost minutes nor flood the log.
 */
export const MAX_INPUT_TENSORS = 256;

export class NamedTensors {
  private constructor(
    private readonly tensors: Map<string, Tensor>,
    readonly source: string,
  ) {}

  static read(path: string): NamedTensors {
    let file: SafetensorsFile;
    try {
      file = SafetensorsFile.open(path);
    } catch (cause) {
      throw new Error(`cannot read inputs ${path}: ${(cause as Error).message}`, { cause });
    }
    try {
      const names = file.names();
      if (names.length > MAX_INPUT_TENSORS) {
        throw new Error(
          `${path} holds ${names.length} tensors, more than the ${MAX_INPUT_TENSORS} an inputs file may hold ` +
            '(a request needs latents, prompt_embeds, pooled_prompt_embeds and a few more)',
        );
      }
      return new NamedTensors(new Map(names.map((n) => [n, file.read(n, { dtype: 'f32' })])), path);
    } finally {
      file.close();
    }
  }

  /** Wraps tensors already in memory (`source` names them in messages). */
  static of(tensors: ReadonlyMap<string, Tensor>, source: string): NamedTensors {
    return new NamedTensors(new Map(tensors), source);
  }

  /** The same tensors less `names` (e.g. a golden output stored beside the inputs). */
  without(names: readonly string[]): NamedTensors {
    return new NamedTensors(new Map([...this.tensors].filter(([n]) => !names.includes(n))), this.source);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  optional(name: string): Tensor | undefined {
    return this.tensors.get(name);
  }

  required(name: string, why: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.source} has no tensor "${name}" (${why})`);
    return t;
  }

  /** The names not in `known` (so a typo such as "timesteps" is reported instead of ignored). */
  unknown(known: readonly string[]): string[] {
    return this.names().filter((n) => !known.includes(n));
  }

  /** Per-sample scalars of a [B] tensor as numbers. */
  scalars(name: string, batch: number, why: string): number[] {
    const t = this.required(name, why);
    if (t.numel !== batch) {
      throw new Error(
        `${this.source}: "${name}" must hold ${batch} value(s) (one per sample), got shape [${t.shape.join(', ')}]`,
      );
    }
    return Array.from(t.toFloat32Array());
  }
}
