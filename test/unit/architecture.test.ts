import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Resolved import targets (relative specifiers only) of one source file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return specs.map((s) => relative(SRC, resolve(file, '..', s)));
}

function violations(from: string, forbidden: readonly string[]): string[] {
  return tsFiles(join(SRC, from)).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))
      .map((target) => `${relative(SRC, file)} imports ${target}`),
  );
}

describe('architecture boundaries', () => {
  it('the operator never imports runtime code', () => {
    expect(violations('operator', ['runtime'])).toEqual([]);
  });
  it('the runtime never imports operator code', () => {
    expect(violations('runtime', ['operator'])).toEqual([]);
  });
  it('shared code imports neither side', () => {
    expect(violations('shared', ['operator', 'runtime', 'cli'])).toEqual([]);
  });
  it('detects a forbidden import (self-check of the scanner)', () => {
    const fake = join(SRC, 'operator', 'x.ts');
    expect(relative(SRC, resolve(fake, '..', '../runtime/y.js'))).toBe('runtime/y.js');
  });
});
