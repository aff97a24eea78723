/**
 * What a family's pre-flight check of an inputs file sees: the file's header (names and shapes) and small
 * tensors read on request (Flux's position ids), so that every shape problem is found before a worker
 * starts or a weight is read (src/runtime/preflight/).
 */
import type { RequestFacts } from '../parallel-denoise/checkpoint-fit.js';

export interface InputsFileView {
  has(name: string): boolean;
  /** The stored shape, or undefined when the file has no such tensor. */
  shape(name: string): readonly number[] | undefined;
  /** A (small) tensor's values. */
  readF32(name: string): Float32Array;
}

export interface InputsCheck {
  /** Everything wrong with the file, each naming the tensor and what the config expects. */
  problems: string[];
  /** The request as the degree checks see it; null when the shapes are too wrong to tell. */
  facts: RequestFacts | null;
}

export const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
