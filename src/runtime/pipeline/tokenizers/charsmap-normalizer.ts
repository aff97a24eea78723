/**
 * SentencePiece's precompiled normalizer (T5's "nmt_nfkc" rules), read from the charsmap itself.
 *
 * Why by hand: @huggingface/tokenizers' `Precompiled` normalizer ignores the charsmap and approximates it
 * with NFKC plus a fixed list of control and space characters, which tokenizes some prompts differently
 * from transformers (e.g. U+200D ZERO WIDTH JOINER, kept as <unk> by the real rules, becomes a space). The
 * charsmap is the rule set: a Darts double-array trie from UTF-8 byte strings to offsets in a blob of
 * NUL-terminated replacements. This follows what the Rust `tokenizers` library (hence transformers) does:
 * per extended grapheme cluster shorter than 6 UTF-8 bytes, replace the cluster by the first (shortest)
 * rule matching a prefix of it; otherwise, or when none matches, apply the rules per code point.
 */
export class CharsmapError extends Error {
  override readonly name = 'CharsmapError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The Darts-clone trie units (spm_precompiled / sentencepiece's DoubleArray). */
const hasLeaf = (unit: number): boolean => ((unit >>> 8) & 1) === 1;
const value = (unit: number): number => unit & 0x7fffffff;
const label = (unit: number): number => unit & 0x800000ff;
const offset = (unit: number): number => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);

export class PrecompiledCharsmap {
  private readonly trie: Uint32Array;
  private readonly replacements: Uint8Array;

  constructor(charsmap: Uint8Array, source: string) {
    if (charsmap.length < 4)
      throw new CharsmapError(`${source}: the precompiled charsmap is shorter than its header`);
    const view = new DataView(charsmap.buffer, charsmap.byteOffset, charsmap.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > charsmap.length || trieBytes === 0) {
      throw new CharsmapError(
        `${source}: the charsmap's trie size ${trieBytes} does not fit its ${charsmap.length} bytes`,
      );
    }
    this.trie = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = view.getUint32(4 + 4 * i, true);
    this.replacements = charsmap.subarray(4 + trieBytes);
  }

  private unit(pos: number): number | undefined {
    return pos < this.trie.length ? this.trie[pos] : undefined;
  }

  /** The replacement of the shortest rule matching a prefix of `chunk`, or null. */
  transform(chunk: string): string | null {
    const key = encoder.encode(chunk);
    let unit = this.unit(0);
    if (unit === undefined) return null;
    let pos = offset(unit);
    for (const byte of key) {
      if (byte === 0) break;
      pos ^= byte;
      unit = this.unit(pos);
      if (unit === undefined || label(unit) !== byte) return null;
      pos ^= offset(unit);
      if (hasLeaf(unit)) {
        const leaf = this.unit(pos);
        return leaf === undefined ? null : this.replacementAt(value(leaf));
      }
    }
    return null;
  }

  private replacementAt(start: number): string | null {
    if (start >= this.replacements.length) return null;
    let end = start;
    while (end < this.replacements.length && this.replacements[end] !== 0) end++;
    return decoder.decode(this.replacements.subarray(start, end));
  }

  normalize(text: string): string {
    let out = '';
    for (const { segment } of graphemes.segment(text)) {
      if (encoder.encode(segment).length < 6) {
        const whole = this.transform(segment);
        if (whole !== null) {
          out += whole;
          continue;
        }
      }
      for (const codePoint of segment) out += this.transform(codePoint) ?? codePoint;
    }
    return out;
  }
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
