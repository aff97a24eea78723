/**
 * The typed face of @huggingface/tokenizers: the package's declaration files re-export with
 * extension-less relative paths, which TypeScript's NodeNext resolution cannot follow, so its exports
 * arrive untyped. This file states the part Tessera uses; nothing else imports the package.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenizerJson } from './recipes.js';

/** What the library calls for normalization: text in, normalized text out. */
export type NormalizeFn = (text: string) => string;
/** What the library calls for pre-tokenization: one section of text in, pre-tokens out. */
export type PreTokenizeFn = (text: string) => string[];

export interface LibraryTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  normalizer: NormalizeFn | null;
  pre_tokenizer: PreTokenizeFn | null;
}

/**
 * Builds the library's tokenizer from a tokenizer.json object; `normalize` and `preTokenize`, when given,
 * replace the stages the library would build from the JSON (it calls them as plain functions).
 */
export function createLibraryTokenizer(
  json: TokenizerJson,
  stages: { normalize: NormalizeFn | null; preTokenize: PreTokenizeFn | null },
): LibraryTokenizer {
  const tokenizer: LibraryTokenizer = new Tokenizer(json, {});
  if (stages.normalize) tokenizer.normalizer = stages.normalize;
  if (stages.preTokenize) tokenizer.pre_tokenizer = stages.preTokenize;
  return tokenizer;
}
