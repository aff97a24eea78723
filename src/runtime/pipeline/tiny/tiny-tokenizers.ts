/**
 * Tiny tokenizer folders in the released formats, written from a handful of words: a CLIP byte-level BPE
 * (vocab.json + merges.txt, as FLUX's `tokenizer/` ships it, without tokenizer.json) whose merges build
 * those words, and a T5 unigram (tokenizer.json, no charsmap) whose pieces are the words and the letters.
 * Any text tokenizes (unknown words fall back to bytes or letters); the demo's prompts hit whole words.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { t5Recipe } from '../tokenizers/recipes.js';

export const TINY_WORDS = [
  'a',
  'an',
  'the',
  'of',
  'on',
  'in',
  'at',
  'with',
  'and',
  'photo',
  'painting',
  'cat',
  'dog',
  'fox',
  'owl',
  'castle',
  'lake',
  'city',
  'forest',
  'mountain',
  'sky',
  'moon',
  'sun',
  'night',
  'sunrise',
  'misty',
  'golden',
  'red',
  'blue',
  'green',
  'light',
  'tiny',
  'old',
  'robot',
  'reading',
  'book',
  'watercolor',
  'detailed',
];

/** GPT-2's byte → printable character table (CLIP's vocabulary alphabet). */
function byteSymbols(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Map<number, string>(printable.map((b) => [b, String.fromCharCode(b)]));
  let extra = 0;
  for (let b = 0; b < 256; b++) if (!table.has(b)) table.set(b, String.fromCharCode(256 + extra++));
  return [...table.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c);
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function writeTinyClipTokenizer(folder: string): number {
  mkdirSync(folder, { recursive: true });
  const symbols = byteSymbols();
  const vocab: string[] = [...symbols, ...symbols.map((s) => `${s}</w>`)];
  const known = new Set(vocab);
  const merges: [string, string][] = [];
  for (const word of TINY_WORDS) {
    // Merge left to right: "cat" → c + a → ca, ca + t</w> → cat</w>.
    let current = word[0] as string;
    for (let i = 1; i < word.length; i++) {
      const next = i === word.length - 1 ? `${word[i]}</w>` : (word[i] as string);
      const merged = current + next;
      if (!known.has(merged)) {
        merges.push([current, next]);
        vocab.push(merged);
        known.add(merged);
      }
      current = merged;
    }
  }
  vocab.push('<|startoftext|>', '<|endoftext|>');
  writeJson(join(folder, 'vocab.json'), Object.fromEntries(vocab.map((t, i) => [t, i])));
  writeFileSync(
    join(folder, 'merges.txt'),
    `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}\n`).join('')}`,
  );
  const special = {
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
  };
  writeJson(join(folder, 'tokenizer_config.json'), {
    tokenizer_class: 'CLIPTokenizer',
    model_max_length: 77,
    ...special,
  });
  writeJson(join(folder, 'special_tokens_map.json'), special);
  return vocab.length;
}

export function writeTinyT5Tokenizer(folder: string): number {
  mkdirSync(folder, { recursive: true });
  const pieces: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -2],
  ];
  for (const word of TINY_WORDS) pieces.push([`▁${word}`, -3 - word.length / 10]);
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789.,!?') pieces.push([c, -8], [`▁${c}`, -9]);
  const source = join(folder, 'tokenizer.json');
  const recipe = t5Recipe(
    { pieces, byteFallback: false, charsmap: new Uint8Array(0), declaredAdded: null, source },
    { bos: null, eos: '</s>', unk: '<unk>', pad: '<pad>' },
    0,
  );
  writeJson(source, { ...recipe.json, truncation: null, padding: null });
  const tokens = { eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' };
  writeJson(join(folder, 'tokenizer_config.json'), {
    tokenizer_class: 'T5Tokenizer',
    extra_ids: 0,
    model_max_length: 512,
    ...tokens,
  });
  writeJson(join(folder, 'special_tokens_map.json'), tokens);
  return pieces.length;
}
