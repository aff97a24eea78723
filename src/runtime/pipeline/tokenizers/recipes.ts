/**
 * What each tokenizer class is, as transformers builds it: the vocabulary comes from the checkpoint's
 * files, the rest (normalizer, pre-tokenizer, special tokens) from the class. transformers 5 does the same
 * — `CLIPTokenizer` and `T5Tokenizer` rebuild their pipeline in `__init__` and take only the vocabulary,
 * merges and charsmap from tokenizer.json, vocab.json/merges.txt or spiece.model — so a checkpoint
 * tokenizes the same here whichever of those files it ships.
 *
 * A recipe yields the tokenizer.json object @huggingface/tokenizers reads, plus what padding and
 * truncation need: the special ids around the content and the pad id.
 */
import { PrecompiledCharsmap } from './charsmap-normalizer.js';
import { clipNormalize } from './clip-normalizer.js';
import type { NormalizeFn, PreTokenizeFn } from './library.js';
import { t5PreTokenize } from './t5-pre-tokenizer.js';

export class TokenizerRecipeError extends Error {
  override readonly name = 'TokenizerRecipeError';
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The subset of tokenizer.json the recipes write (the library's own types are not exported). */
export interface TokenizerJson {
  version: '1.0';
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: Record<string, unknown>;
}

export interface TokenizerRecipe {
  /** "CLIPTokenizer" | "T5Tokenizer" */
  className: string;
  json: TokenizerJson;
  /** Ids the post-processor puts before and after the content of one sequence. */
  prefix: number[];
  suffix: number[];
  padId: number;
  /** Installed in place of the library's normalizer, which differs from transformers' (see each class). */
  normalize: NormalizeFn | null;
  preTokenize: PreTokenizeFn | null;
}

export interface SpecialTokens {
  bos: string | null;
  eos: string | null;
  unk: string | null;
  pad: string | null;
}

function special(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function idOf(
  vocab: ReadonlyMap<string, number>,
  token: string | null,
  role: string,
  source: string,
): number {
  if (token === null)
    throw new TokenizerRecipeError(`${source}: the tokenizer needs a ${role} token; set "${role}_token"`);
  const id = vocab.get(token);
  if (id === undefined) {
    throw new TokenizerRecipeError(
      `${source}: ${role}_token ${JSON.stringify(token)} is not in the vocabulary`,
    );
  }
  return id;
}

/** Byte-level BPE with the </w> suffix (OpenAI CLIP), RobertaProcessing: <|startoftext|> … <|endoftext|>. */
export const CLIP_SPLIT_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export interface BpeVocabulary {
  vocab: Map<string, number>;
  merges: [string, string][];
  /** Where the vocabulary came from, for messages. */
  source: string;
}

export function clipRecipe(bpe: BpeVocabulary, tokens: SpecialTokens): TokenizerRecipe {
  const bos = idOf(bpe.vocab, tokens.bos, 'bos', bpe.source);
  const eos = idOf(bpe.vocab, tokens.eos, 'eos', bpe.source);
  const pad = idOf(bpe.vocab, tokens.pad, 'pad', bpe.source);
  const unk = tokens.unk ?? tokens.eos;
  idOf(bpe.vocab, unk, 'unk', bpe.source);
  // transformers registers every special token as an added token, so each is matched in the raw text
  // before normalization — for SD3's CLIP-G, whose pad token is "!", every "!" becomes id 0 alone.
  const added = new Map<number, AddedTokenJson>();
  for (const [id, content] of [
    [pad, tokens.pad],
    [bos, tokens.bos],
    [eos, tokens.eos],
  ] as const) {
    if (content !== null) added.set(id, special(id, content));
  }
  return {
    className: 'CLIPTokenizer',
    json: {
      version: '1.0',
      added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFC' },
          { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
          { type: 'Lowercase' },
        ],
      },
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        ],
      },
      post_processor: {
        type: 'RobertaProcessing',
        sep: [tokens.eos, eos],
        cls: [tokens.bos, bos],
        trim_offsets: false,
        add_prefix_space: false,
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: unk,
        continuing_subword_prefix: '',
        end_of_word_suffix: '</w>',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(bpe.vocab),
        merges: bpe.merges,
      },
    },
    prefix: [bos],
    suffix: [eos],
    padId: pad,
    normalize: clipNormalize,
    preTokenize: null,
  };
}

/** SentencePiece unigram (T5 v1.1): pieces + <extra_id_*>, Metaspace, "$A </s>". */
export interface UnigramVocabulary {
  pieces: [string, number][];
  byteFallback: boolean;
  charsmap: Uint8Array;
  /** Added tokens as the checkpoint declares them (tokenizer.json or tokenizer_config.json), if it does. */
  declaredAdded: AddedTokenJson[] | null;
  source: string;
}

export function t5Recipe(
  unigram: UnigramVocabulary,
  tokens: SpecialTokens,
  extraIds: number,
): TokenizerRecipe {
  const pieces = [...unigram.pieces];
  const hasExtras = pieces.some(([piece]) => piece.startsWith('<extra_id_'));
  if (!hasExtras) {
    // T5's sentinels follow the SentencePiece pieces in reverse: <extra_id_0> gets the last id.
    for (let i = extraIds - 1; i >= 0; i--) pieces.push([`<extra_id_${i}>`, 0]);
  }
  const vocab = new Map(pieces.map(([piece], id) => [piece, id]));
  const eos = idOf(vocab, tokens.eos, 'eos', unigram.source);
  const pad = idOf(vocab, tokens.pad, 'pad', unigram.source);
  const unk = idOf(vocab, tokens.unk, 'unk', unigram.source);
  const added =
    unigram.declaredAdded ??
    [
      [pad, tokens.pad],
      [eos, tokens.eos],
      [unk, tokens.unk],
      ...pieces.flatMap(([piece], id) => (piece.startsWith('<extra_id_') ? [[id, piece] as const] : [])),
    ].map(([id, content]) => special(id as number, content as string));
  return {
    className: 'T5Tokenizer',
    json: {
      version: '1.0',
      added_tokens: [...added].sort((a, b) => a.id - b.id),
      normalizer: null,
      pre_tokenizer: {
        type: 'Sequence',
        pretokenizers: [
          { type: 'WhitespaceSplit' },
          { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
        ],
      },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: tokens.eos, type_id: 0 } }],
        pair: [
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: tokens.eos, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 0 } },
          { SpecialToken: { id: tokens.eos, type_id: 0 } },
        ],
        special_tokens: { [tokens.eos as string]: { id: tokens.eos, ids: [eos], tokens: [tokens.eos] } },
      },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      model: { type: 'Unigram', unk_id: unk, vocab: pieces, byte_fallback: unigram.byteFallback },
    },
    prefix: [],
    suffix: [eos],
    padId: pad,
    normalize: charsmapNormalize(unigram),
    preTokenize: t5PreTokenize,
  };
}

function charsmapNormalize(unigram: UnigramVocabulary): NormalizeFn | null {
  if (unigram.charsmap.length === 0) return null;
  const charsmap = new PrecompiledCharsmap(unigram.charsmap, unigram.source);
  return (text) => charsmap.normalize(text);
}
