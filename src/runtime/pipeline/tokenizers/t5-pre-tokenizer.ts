/**
 * T5's pre-tokenizer — split on whitespace, then Metaspace: spaces become "▁" and every word starts with
 * one ("prepend_scheme": "always") — with the whitespace of Rust's `char::is_whitespace` (Unicode
 * White_Space), as transformers' WhitespaceSplit uses. The library's WhitespaceSplit splits on
 * JavaScript's `\s`, which misses U+0085 and adds U+FEFF.
 */
const WHITE_SPACE = /[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const METASPACE = '▁';

export function t5PreTokenize(text: string): string[] {
  return text
    .split(WHITE_SPACE)
    .filter((word) => word.length > 0)
    .map((word) => (word.startsWith(METASPACE) ? word : METASPACE + word));
}
