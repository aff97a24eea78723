/**
 * A checkpoint tokenizer called the way Diffusers' pipelines call theirs:
 * `tokenizer(prompt, padding="max_length", max_length=M, truncation=True)` — the content is cut so that
 * content + special tokens fit M, then padded on the right with the pad id; the mask marks the real tokens.
 * @huggingface/tokenizers does the tokenizing (it neither pads nor truncates).
 */
import { createLibraryTokenizer, type LibraryTokenizer } from './library.js';
import { readTokenizerFolder } from './tokenizer-folder.js';

export interface TokenizedPrompt {
  /** [maxLength] ids: specials, content, then pad ids. */
  ids: Int32Array;
  /** [maxLength] 1 for the real tokens (specials included), 0 for padding. */
  mask: Uint8Array;
  /** How many ids are real (the rest is padding). */
  length: number;
  /** Content tokens cut off by max_length (what Diffusers warns about). */
  truncatedTokens: number;
}

export class PromptTokenizerError extends Error {
  override readonly name = 'PromptTokenizerError';
}

export class PromptTokenizer {
  private constructor(
    readonly folder: string,
    readonly className: string,
    /** tokenizer_config.json's model_max_length (CLIP: 77), when given. */
    readonly modelMaxLength: number | null,
    private readonly tokenizer: LibraryTokenizer,
    private readonly prefix: readonly number[],
    private readonly suffix: readonly number[],
    readonly padId: number,
  ) {}

  static load(folder: string): PromptTokenizer {
    const { className, modelMaxLength, recipe } = readTokenizerFolder(folder);
    const tokenizer = createLibraryTokenizer(recipe.json, {
      normalize: recipe.normalize,
      preTokenize: recipe.preTokenize,
    });
    return new PromptTokenizer(
      folder,
      className,
      modelMaxLength,
      tokenizer,
      recipe.prefix,
      recipe.suffix,
      recipe.padId,
    );
  }

  /** The content ids of `text`, without special tokens, padding or truncation. */
  contentIds(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  encode(text: string, maxLength: number): TokenizedPrompt {
    const room = maxLength - this.prefix.length - this.suffix.length;
    if (!Number.isInteger(maxLength) || room < 0) {
      throw new PromptTokenizerError(
        `${this.folder}: max length ${maxLength} leaves no room for the ${this.prefix.length + this.suffix.length} special tokens`,
      );
    }
    const content = this.contentIds(text);
    const kept = content.slice(0, room);
    const real = [...this.prefix, ...kept, ...this.suffix];
    const ids = new Int32Array(maxLength).fill(this.padId);
    ids.set(real);
    const mask = new Uint8Array(maxLength);
    mask.fill(1, 0, real.length);
    return { ids, mask, length: real.length, truncatedTokens: content.length - kept.length };
  }
}

/**
 * Python's str.isspace() characters, which str.strip() removes. JavaScript's trim() differs: it keeps
 * U+001C–U+001F and U+0085 and removes U+FEFF.
 */
const PYTHON_WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002,
  0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** `text.lower().strip()` as Python computes it (PixArt's caption preprocessing without bs4/ftfy). */
export function pythonLowerStrip(text: string): string {
  const lower = text.toLowerCase();
  let start = 0;
  let end = lower.length;
  while (start < end && PYTHON_WHITESPACE.has(lower.charCodeAt(start))) start++;
  while (end > start && PYTHON_WHITESPACE.has(lower.charCodeAt(end - 1))) end--;
  return lower.slice(start, end);
}
