/**
 * JSON as Diffusers writes it: Python's json module emits the bare tokens Infinity, -Infinity and NaN
 * (e.g. PixArt-Σ's `"lambda_min_clipped": -Infinity`), which JSON.parse rejects. They are read as the
 * numbers they name; everything else is plain JSON.
 */
export function parseDiffusersJson(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    const word = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (word) {
      out += JSON.stringify(`__number:${word[1]}`);
      i += (word[1] as string).length - 1;
      continue;
    }
    out += ch;
  }
  return JSON.parse(out, (_key, value) =>
    typeof value === 'string' && value.startsWith('__number:')
      ? Number(value.slice('__number:'.length))
      : value,
  );
}
