/**
 * CLIP's normalizer — NFC, runs of whitespace to one space, lowercase — with the Rust `tokenizers`
 * semantics transformers runs, which differ from the JavaScript built-ins the library's own
 * normalizers use in two places:
 * - lowercase is per code point ("ΟΔΟΣ" → "οδοσ"); String.prototype.toLowerCase applies the Final_Sigma
 *   rule ("οδος"), which changes the ids;
 * - whitespace is Unicode's White_Space property (regex `\s` in Rust), which includes U+0085 and not
 *   U+FEFF; JavaScript's `\s` is the other way round.
 */
const WHITE_SPACE_RUN = /[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

export function clipNormalize(text: string): string {
  let lower = '';
  for (const codePoint of text.normalize('NFC').replace(WHITE_SPACE_RUN, ' '))
    lower += codePoint.toLowerCase();
  return lower;
}
