import type { JSDoc, JSDocableNode } from 'ts-morph';

/** One `@tag text` of a doc comment. */
export interface DocTag {
  readonly name: string;
  readonly text: string;
}

export interface DocComment {
  /** The prose before the first tag, with wrapped lines joined (paragraphs and list items kept). */
  readonly description: string;
  readonly tags: readonly DocTag[];
}

/**
 * Reads the doc comment attached to a declaration. Only the last JSDoc block counts (the one directly
 * above the declaration), as TypeScript itself does for hover text.
 */
export function readDocComment(node: JSDocableNode): DocComment {
  const docs: JSDoc[] = node.getJsDocs();
  const doc = docs.at(-1);
  if (doc === undefined) return { description: '', tags: [] };
  return {
    description: unwrap(doc.getCommentText() ?? ''),
    tags: doc.getTags().map((tag) => ({ name: tag.getTagName(), text: (tag.getCommentText() ?? '').trim() })),
  };
}

/**
 * Joins hard-wrapped lines into one line per paragraph or list item, so `kubectl explain` re-wraps
 * the text to the terminal instead of showing our 110-column breaks.
 */
export function unwrap(text: string): string {
  const paragraphs: string[] = [];
  let current = '';
  for (const raw of text.trim().split('\n')) {
    const line = raw.trim();
    if (line === '') {
      if (current !== '') paragraphs.push(current);
      current = '';
    } else if (line.startsWith('- ')) {
      if (current !== '') paragraphs.push(current);
      current = line;
    } else {
      current = current === '' ? line : `${current} ${line}`;
    }
  }
  if (current !== '') paragraphs.push(current);
  return paragraphs
    .reduce((acc, p) => (acc === '' ? p : `${acc}${p.startsWith('- ') ? '\n' : '\n\n'}${p}`), '')
    .trim();
}
