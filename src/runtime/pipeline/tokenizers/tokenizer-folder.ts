/**
 * Reads a checkpoint's tokenizer folder (`tokenizer`, `tokenizer_2`, ...) into a recipe: the class and special tokens from
 * tokenizer_config.json (special_tokens_map.json fills what it leaves out), the vocabulary from whichever
 * file the folder has — tokenizer.json, else vocab.json + merges.txt (CLIP), else spiece.model (T5).
 * A missing or malformed file is an error naming it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject } from '../../checkpoint/config-fields.js';
import {
  type AddedTokenJson,
  type BpeVocabulary,
  clipRecipe,
  type SpecialTokens,
  type TokenizerRecipe,
  TokenizerRecipeError,
  t5Recipe,
  type UnigramVocabulary,
} from './recipes.js';
import { readSentencePieceModel } from './sentencepiece-model.js';

export class TokenizerFolderError extends Error {
  override readonly name = 'TokenizerFolderError';
}

const CLIP_CLASSES = ['CLIPTokenizer', 'CLIPTokenizerFast'];
const T5_CLASSES = ['T5Tokenizer', 'T5TokenizerFast'];

type Json = Record<string, unknown>;

/** Reads a JSON object file (errors name the file; see checkpoint/config-fields). */
const readJson = (path: string): Json => readJsonObject(path);

/** A special token as transformers writes it: a string, or {"content": "...", ...} (older configs). */
function tokenString(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as Json).content === 'string')
    return (value as Json).content as string;
  return undefined;
}

export interface TokenizerFolder {
  folder: string;
  className: string;
  /** tokenizer_config.json's model_max_length, when it is a sensible number. */
  modelMaxLength: number | null;
  recipe: TokenizerRecipe;
}

export function readTokenizerFolder(folder: string): TokenizerFolder {
  const configPath = join(folder, 'tokenizer_config.json');
  if (!existsSync(configPath)) {
    throw new TokenizerFolderError(
      `${configPath} is missing: a tokenizer folder needs its tokenizer_config.json`,
    );
  }
  const config = readJson(configPath);
  const mapPath = join(folder, 'special_tokens_map.json');
  const map = existsSync(mapPath) ? readJson(mapPath) : {};
  const pick = (role: string, fallback: string | null): string | null => {
    const fromConfig = tokenString(config[`${role}_token`]);
    if (fromConfig !== undefined) return fromConfig;
    const fromMap = tokenString(map[`${role}_token`]);
    return fromMap !== undefined ? fromMap : fallback;
  };
  const className = config.tokenizer_class;
  const maxLength = config.model_max_length;
  const modelMaxLength =
    typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength > 0 && maxLength < 1e6
      ? maxLength
      : null;
  let recipe: TokenizerRecipe;
  try {
    if (typeof className === 'string' && CLIP_CLASSES.includes(className)) {
      const tokens: SpecialTokens = {
        bos: pick('bos', '<|startoftext|>'),
        eos: pick('eos', '<|endoftext|>'),
        unk: pick('unk', '<|endoftext|>'),
        pad: pick('pad', '<|endoftext|>'),
      };
      recipe = clipRecipe(readBpeVocabulary(folder), tokens);
    } else if (typeof className === 'string' && T5_CLASSES.includes(className)) {
      const tokens: SpecialTokens = {
        bos: null,
        eos: pick('eos', '</s>'),
        unk: pick('unk', '<unk>'),
        pad: pick('pad', '<pad>'),
      };
      const extraIds = config.extra_ids ?? 100;
      if (typeof extraIds !== 'number' || !Number.isInteger(extraIds) || extraIds < 0) {
        throw new TokenizerFolderError(`${configPath}: "extra_ids" must be a non-negative integer`);
      }
      recipe = t5Recipe(readUnigramVocabulary(folder, config), tokens, extraIds);
    } else {
      throw new TokenizerFolderError(
        `${configPath}: "tokenizer_class" is ${JSON.stringify(className)}; supported: ${[...CLIP_CLASSES, ...T5_CLASSES].join(', ')}`,
      );
    }
  } catch (err) {
    if (err instanceof TokenizerRecipeError) throw new TokenizerFolderError(err.message, { cause: err });
    throw err;
  }
  return { folder, className: recipe.className, modelMaxLength, recipe };
}

function tokenizerJson(folder: string): Json | null {
  const path = join(folder, 'tokenizer.json');
  return existsSync(path) ? readJson(path) : null;
}

function modelSection(json: Json, path: string, type: string): Json {
  const model = json.model;
  if (typeof model !== 'object' || model === null || (model as Json).type !== type) {
    throw new TokenizerFolderError(`${path}: "model.type" must be "${type}" for this tokenizer class`);
  }
  return model as Json;
}

function readBpeVocabulary(folder: string): BpeVocabulary {
  const json = tokenizerJson(folder);
  if (json) {
    const path = join(folder, 'tokenizer.json');
    const model = modelSection(json, path, 'BPE');
    return {
      vocab: vocabMap(model.vocab, `${path} model.vocab`),
      merges: mergeList(model.merges, `${path} model.merges`),
      source: path,
    };
  }
  const vocabPath = join(folder, 'vocab.json');
  const mergesPath = join(folder, 'merges.txt');
  for (const path of [vocabPath, mergesPath]) {
    if (!existsSync(path)) {
      throw new TokenizerFolderError(
        `${path} is missing: a CLIP tokenizer folder needs tokenizer.json, or vocab.json with merges.txt`,
      );
    }
  }
  const lines = readFileSync(mergesPath, 'utf8').split('\n');
  const merges: [string, string][] = [];
  lines.forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new TokenizerFolderError(
        `${mergesPath}:${i + 1}: expected "left right", got ${JSON.stringify(line)}`,
      );
    }
    merges.push([parts[0], parts[1]]);
  });
  return { vocab: vocabMap(readJson(vocabPath), vocabPath), merges, source: vocabPath };
}

function vocabMap(raw: unknown, what: string): Map<string, number> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TokenizerFolderError(`${what}: expected an object of token → id`);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(raw as Json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFolderError(`${what}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

function mergeList(raw: unknown, what: string): [string, string][] {
  if (!Array.isArray(raw)) throw new TokenizerFolderError(`${what}: expected a list of merges`);
  return raw.map((entry, i) => {
    const pair = typeof entry === 'string' ? entry.split(' ') : entry;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== 'string' ||
      typeof pair[1] !== 'string'
    ) {
      throw new TokenizerFolderError(`${what}[${i}]: expected "left right" or [left, right]`);
    }
    return [pair[0], pair[1]];
  });
}

function readUnigramVocabulary(folder: string, config: Json): UnigramVocabulary {
  const json = tokenizerJson(folder);
  if (json) {
    const path = join(folder, 'tokenizer.json');
    const model = modelSection(json, path, 'Unigram');
    if (!Array.isArray(model.vocab))
      throw new TokenizerFolderError(`${path}: "model.vocab" must be a list of [piece, score]`);
    const pieces = model.vocab.map((entry, i): [string, number] => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        throw new TokenizerFolderError(`${path}: model.vocab[${i}] must be [piece, score]`);
      }
      return [entry[0], entry[1]];
    });
    return {
      pieces,
      byteFallback: model.byte_fallback === true,
      charsmap: charsmapOf(json.normalizer, path),
      declaredAdded: addedTokens(json.added_tokens, `${path} added_tokens`),
      source: path,
    };
  }
  const spiecePath = join(folder, 'spiece.model');
  if (!existsSync(spiecePath)) {
    throw new TokenizerFolderError(
      `${spiecePath} is missing: a T5 tokenizer folder needs tokenizer.json or spiece.model`,
    );
  }
  const model = readSentencePieceModel(spiecePath);
  if (model.modelType !== 1) {
    throw new TokenizerFolderError(
      `${spiecePath}: model_type ${model.modelType} is not a unigram model (T5 uses unigram)`,
    );
  }
  return {
    pieces: model.pieces.map((p) => [p.piece, p.score]),
    byteFallback: model.byteFallback,
    charsmap: model.precompiledCharsmap,
    declaredAdded: addedTokensDecoder(
      config.added_tokens_decoder,
      `${join(folder, 'tokenizer_config.json')} added_tokens_decoder`,
    ),
    source: spiecePath,
  };
}

/** The charsmap of a Precompiled normalizer, alone or inside a Sequence. */
function charsmapOf(normalizer: unknown, path: string): Uint8Array {
  const stack = [normalizer];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    const n = node as Json;
    if (n.type === 'Precompiled' && typeof n.precompiled_charsmap === 'string') {
      return new Uint8Array(Buffer.from(n.precompiled_charsmap, 'base64'));
    }
    if (n.type === 'Sequence' && Array.isArray(n.normalizers)) stack.push(...n.normalizers);
  }
  if (normalizer !== null && normalizer !== undefined) {
    throw new TokenizerFolderError(`${path}: expected a Precompiled normalizer (SentencePiece's charsmap)`);
  }
  return new Uint8Array(0);
}

function addedToken(raw: unknown, id: unknown, what: string): AddedTokenJson {
  if (typeof raw !== 'object' || raw === null || typeof (raw as Json).content !== 'string') {
    throw new TokenizerFolderError(`${what}: expected {"content": ...}`);
  }
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
    throw new TokenizerFolderError(`${what}: bad id ${JSON.stringify(id)}`);
  const t = raw as Json;
  return {
    id,
    content: t.content as string,
    single_word: t.single_word === true,
    lstrip: t.lstrip === true,
    rstrip: t.rstrip === true,
    normalized: t.normalized === true,
    special: t.special !== false,
  };
}

function addedTokens(raw: unknown, what: string): AddedTokenJson[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw new TokenizerFolderError(`${what}: expected a list`);
  return raw.map((t, i) => addedToken(t, (t as Json | null)?.id, `${what}[${i}]`));
}

/** transformers 4's tokenizer_config.json form: {"<id>": {"content": ..., ...}}. */
function addedTokensDecoder(raw: unknown, what: string): AddedTokenJson[] | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TokenizerFolderError(`${what}: expected an object`);
  return Object.entries(raw as Json).map(([id, t]) => addedToken(t, Number(id), `${what}["${id}"]`));
}
