/**
 * Tokenizer parity with transformers: the tiny tokenizers in the released folder layouts (CLIP from
 * vocab.json + merges.txt, CLIP-G with pad "!", T5 from tokenizer.json, T5 from spiece.model alone) turn
 * every prompt of the corpus into exactly the ids and mask transformers gives, under each pipeline's
 * max length and preprocessing.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PromptTokenizer,
  pythonLowerStrip,
} from '../../../src/runtime/pipeline/tokenizers/prompt-tokenizer.js';
import { TokenizerFolderError } from '../../../src/runtime/pipeline/tokenizers/tokenizer-folder.js';
import { pipelineFixture, readPipelineJson, type TokenizerGoldens } from '../../support/pipeline-fixtures.js';

const goldens = readPipelineJson<TokenizerGoldens>('tokenizers.json');

describe('tokenizers match transformers', () => {
  it('the corpus has at least 200 prompts, including empty, over-long and non-ASCII ones', () => {
    expect(goldens.corpus.length).toBeGreaterThanOrEqual(200);
    expect(goldens.corpus).toContain('');
    expect(goldens.corpus.some((p) => [...p].some((c) => (c.codePointAt(0) ?? 0) > 0x7f))).toBe(true);
    const longest = Math.max(...goldens.settings.flatMap((s) => s.attention));
    expect(longest).toBe(512);
  });

  for (const setting of goldens.settings) {
    it(`${setting.name}: ${setting.used_by}`, () => {
      const tokenizer = PromptTokenizer.load(pipelineFixture(setting.folder));
      expect(tokenizer.padId).toBe(setting.pad_id);
      const mismatches: string[] = [];
      goldens.corpus.forEach((prompt, i) => {
        const text = setting.preprocessing === 'lower-strip' ? pythonLowerStrip(prompt) : prompt;
        const { ids, mask, length } = tokenizer.encode(text, setting.max_length);
        const expected = [...(setting.ids[i] as number[])];
        while (expected.length < setting.max_length) expected.push(setting.pad_id);
        const expectedMask = expected.map((_, j) => (j < (setting.attention[i] as number) ? 1 : 0));
        if (
          JSON.stringify([...ids]) !== JSON.stringify(expected) ||
          JSON.stringify([...mask]) !== JSON.stringify(expectedMask)
        ) {
          mismatches.push(
            `#${i} ${JSON.stringify(prompt).slice(0, 60)}: ours ${[...ids.slice(0, length)].join(',')} vs ${setting.ids[i]?.join(',')}`,
          );
        }
      });
      expect(mismatches).toEqual([]);
    });
  }
});

describe('tokenizer folders', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-tokenizer-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('T5 from spiece.model alone gives the vocabulary transformers wrote into tokenizer.json', () => {
    const fromJson = PromptTokenizer.load(pipelineFixture('tokenizers/t5'));
    const fromSpiece = PromptTokenizer.load(pipelineFixture('tokenizers/t5-spiece'));
    for (const prompt of goldens.corpus) {
      expect(fromSpiece.contentIds(prompt)).toEqual(fromJson.contentIds(prompt));
    }
  });

  it('a CLIP folder without merges.txt fails naming the file', () => {
    const folder = join(scratch, 'clip-no-merges');
    cpSync(pipelineFixture('tokenizers/clip'), folder, { recursive: true });
    rmSync(join(folder, 'merges.txt'));
    expect(() => PromptTokenizer.load(folder)).toThrow(TokenizerFolderError);
    expect(() => PromptTokenizer.load(folder)).toThrow(/merges\.txt is missing/);
  });

  it('a T5 folder without spiece.model or tokenizer.json fails naming the file', () => {
    const folder = join(scratch, 't5-empty');
    cpSync(pipelineFixture('tokenizers/t5-spiece'), folder, { recursive: true });
    rmSync(join(folder, 'spiece.model'));
    expect(() => PromptTokenizer.load(folder)).toThrow(/spiece\.model is missing/);
  });

  it('an unknown tokenizer_class is refused naming the field', () => {
    const folder = join(scratch, 'unknown-class');
    cpSync(pipelineFixture('tokenizers/clip'), folder, { recursive: true });
    writeFileSync(
      join(folder, 'tokenizer_config.json'),
      JSON.stringify({ tokenizer_class: 'LlamaTokenizer' }),
    );
    expect(() => PromptTokenizer.load(folder)).toThrow(/"tokenizer_class" is "LlamaTokenizer"/);
  });

  it('special tokens written as {"content": ...} (transformers 4 configs) are read', () => {
    const folder = join(scratch, 'v4-config');
    cpSync(pipelineFixture('tokenizers/clip-pad-bang'), folder, { recursive: true });
    writeFileSync(
      join(folder, 'tokenizer_config.json'),
      JSON.stringify({
        tokenizer_class: 'CLIPTokenizer',
        model_max_length: 77,
        pad_token: { content: '!', lstrip: false, rstrip: false, normalized: false, single_word: false },
        bos_token: { content: '<|startoftext|>' },
        eos_token: { content: '<|endoftext|>' },
      }),
    );
    const tokenizer = PromptTokenizer.load(folder);
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.modelMaxLength).toBe(77);
  });

  it('max length too small for the special tokens is refused', () => {
    const tokenizer = PromptTokenizer.load(pipelineFixture('tokenizers/clip'));
    expect(() => tokenizer.encode('a cat', 1)).toThrow(/leaves no room/);
  });

  it('pythonLowerStrip strips what Python strips', () => {
    expect(pythonLowerStrip('\x1c\u0085 A Cat\u3000')).toBe('a cat');
    expect(pythonLowerStrip('\ufeffA')).toBe('\ufeffa');
  });
});
