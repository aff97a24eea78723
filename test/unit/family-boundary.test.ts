/**
 * What differs per architecture lives in its family (src/runtime/families/): outside a family's own
 * places, no runtime or CLI code branches on the architecture — no comparison with or switch on a family
 * or transformer class name, no table keyed by family, no union of family names — and none imports an
 * architecture's modules (models/<arch>/, checkpoint/<arch>-*, flux/, families/<arch>*). Everything else
 * goes through the family interface and the registry.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');
const ARCHS = ['flux', 'sd3', 'pixart'];
const NAMES = ARCHS.join('|');

/** Where an architecture may be named: its family adapter, its model code, its checkpoint layout. */
const ARCHITECTURE_HOMES = [
  /^runtime\/families\//,
  new RegExp(`^runtime/models/(${NAMES})/`),
  new RegExp(`^runtime/checkpoint/(${NAMES})-`),
  /^runtime\/flux\//,
  // The image pipeline's per-family table (text encoders, defaults, noise shape): per-family data like
  // the adapters, to move into them (the pipeline-side facts of each family).
  /^runtime\/pipeline\/pipeline-families\.ts$/,
];

/**
 * Scanned: the runtime and the CLI. Not scanned: `tessera plan`'s flags (the planner's model presets,
 * src/shared/models/, are data about families, not runtime code).
 */
const SCANNED = ['runtime', 'cli'];
const NOT_SCANNED = ['cli/plan-args.ts'];

/** Patterns that branch on the architecture. */
const BRANCHES: Array<[string, RegExp]> = [
  [
    'compares with a family name',
    new RegExp(`(===|!==)\\s*['"](${NAMES})['"]|['"](${NAMES})['"]\\s*(===|!==)`),
  ],
  ['switches on a family name', new RegExp(`case\\s+['"](${NAMES})['"]`)],
  [
    'compares with a transformer class',
    /(===|!==)\s*['"]\w+Transformer2DModel['"]|['"]\w+Transformer2DModel['"]\s*(===|!==)/,
  ],
  ['switches on a transformer class', /case\s+['"]\w+Transformer2DModel['"]/],
  ['keys a table by family', new RegExp(`[{,]\\s*(${NAMES})\\s*:\\s*[^\\s]`)],
  ['lists family names in a type', new RegExp(`['"](${NAMES})['"]\\s*\\|\\s*['"]`)],
  ['narrows to a family', /Extract<[^>]*family\s*:/],
];

/** Import targets that belong to one architecture. */
const ARCHITECTURE_MODULES = [
  new RegExp(`^runtime/models/(${NAMES})/`),
  new RegExp(`^runtime/checkpoint/(${NAMES})-`),
  /^runtime\/flux\//,
  new RegExp(`^runtime/families/(${NAMES})`),
];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Resolved import targets (relative specifiers only) of a source text at `file`. */
function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return specs.map((s) => relative(SRC, resolve(file, '..', s)));
}

/** What `text` (the source of `file`) does that only a family may do. */
function familyViolations(file: string, text: string): string[] {
  const where = relative(SRC, file);
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*(\*|\/\*\*)/.test(code)) return;
    for (const [what, pattern] of BRANCHES) {
      if (pattern.test(code)) found.push(`${where}:${i + 1} ${what}: ${line.trim()}`);
    }
  });
  for (const target of importsOf(file, text)) {
    if (ARCHITECTURE_MODULES.some((m) => m.test(target))) found.push(`${where} imports ${target}`);
  }
  return found;
}

function scannedFiles(): string[] {
  return SCANNED.flatMap((dir) => tsFiles(join(SRC, dir))).filter((file) => {
    const where = relative(SRC, file);
    return !NOT_SCANNED.includes(where) && !ARCHITECTURE_HOMES.some((home) => home.test(where));
  });
}

describe('model families', () => {
  it('nothing outside a family branches on the architecture or imports its modules', () => {
    const files = scannedFiles();
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((file) => familyViolations(file, readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });

  it('catches each kind of branch (self-check of the scanner)', () => {
    const at = join(SRC, 'runtime', 'parallel-denoise', 'x.ts');
    const samples = [
      "if (loaded.family === 'flux') {",
      "if ('sd3' !== family) return;",
      "    case 'pixart':",
      "const flux = config.className === 'FluxTransformer2DModel';",
      'const DEFAULT_GUIDANCE = { flux: 3.5, sd3: 7.0 };',
      "family: 'flux' | 'sd3';",
      "loaded: Extract<LoadedTransformer, { family: 'sd3' }>,",
      "import { packLatents } from '../models/flux/packing.js';",
      "import { fluxRequest } from '../families/flux-request.js';",
      "import { parseSd3Config } from '../checkpoint/sd3-config.js';",
    ];
    for (const sample of samples) expect(familyViolations(at, sample), sample).toHaveLength(1);
    // Comparing two families, naming one in prose, and going through the registry are fine.
    const fine = [
      'if (message.family !== model.family) {',
      "// Flux packs 2×2 latent pixels: 'flux' === 'flux' in a comment is prose",
      " * Flux: one pass per step ('flux' === x in docs).",
      'const family = familyByName(plan.model.family);',
      "import { familyByName } from '../families/index.js';",
    ];
    for (const sample of fine) expect(familyViolations(at, sample), sample).toEqual([]);
  });
});
