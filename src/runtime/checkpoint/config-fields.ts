/**
 * Typed reads of a Diffusers `config.json`: a missing key takes the constructor default (Diffusers'
 * register_to_config semantics); a present key of the wrong type is an error naming the file and field.
 */
import { readFileSync } from 'node:fs';

export class CheckpointConfigError extends Error {
  override readonly name = 'CheckpointConfigError';
}

const SHOWN_CHARS = 120;

/** A config value as JSON for a message, cut short: a corrupt file may hold a 100 KB list or string. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}… (${text.length} characters)`;
}

/** Reads and parses a JSON object file; errors name the file and keep the cause. */
export function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CheckpointConfigError(`cannot read ${path}: is this a Diffusers model folder?`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointConfigError(`${path} is not valid JSON`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CheckpointConfigError(`${path}: expected a JSON object at the top level`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Upper bounds on what a config.json may claim. Released models stay far below them (FLUX: 19 + 38
 * blocks, SD3.5 Large: 38, widths up to 4096), and the loader does work per block and per width before
 * it can compare the config with the weights, so a corrupt or hostile value (2^31 layers) must fail here.
 */
export const CONFIG_CAPS = {
  /** Blocks of one kind (num_layers, num_single_layers) and entries of a block list. */
  blocks: 1024,
  /** Any width, count of heads or channels, patch or table size. */
  dim: 65_536,
} as const;

export class ConfigFields {
  constructor(
    private readonly raw: Record<string, unknown>,
    readonly source: string,
  ) {}

  private fail(key: string, expected: string): never {
    throw new CheckpointConfigError(
      `${this.source}: field "${key}" must be ${expected}, got ${shown(this.raw[key])}`,
    );
  }

  private capped(key: string, value: number, cap: number, unit = ''): number {
    if (value > cap) {
      throw new CheckpointConfigError(
        `${this.source}: field "${key}" is ${value}, above the cap of ${cap}${unit} (released models stay far ` +
          'below it); the config is corrupt or not a transformer config — fix the value',
      );
    }
    return value;
  }

  /** A positive integer (sizes, counts) of at most `cap`. */
  count(key: string, fallback: number, cap: number = CONFIG_CAPS.dim): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(key, 'a positive integer');
    return this.capped(key, v, cap, cap === CONFIG_CAPS.blocks ? ' blocks' : '');
  }

  /** A block count: a non-negative integer (Flux may have no blocks of one kind) of at most the block cap. */
  blockCount(key: string, fallback: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, 'a non-negative integer');
    return this.capped(key, v, CONFIG_CAPS.blocks, ' blocks');
  }

  optionalCount(key: string, fallback: number | null): number | null {
    const v = this.raw[key] === undefined ? fallback : this.raw[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(key, 'a positive integer or null');
    return this.capped(key, v, CONFIG_CAPS.dim);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  /** A list of at most the block cap non-negative integers, each at most the dimension cap. */
  integers(key: string, fallback: readonly number[]): number[] {
    const v = this.raw[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      this.fail(key, 'a list of non-negative integers');
    }
    const list = v as number[];
    this.capped(key, list.length, CONFIG_CAPS.blocks, ' entries');
    for (const x of list) this.capped(key, x, CONFIG_CAPS.dim);
    return [...list];
  }

  /** A finite number (epsilons, scaling factors). */
  number(key: string, fallback: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a finite number');
    return v;
  }

  optionalString(key: string, fallback: string | null): string | null {
    const v = this.raw[key] === undefined ? fallback : this.raw[key];
    if (v !== null && typeof v !== 'string') this.fail(key, 'a string or null');
    return v;
  }

  /** A cross-field rule: `message` says what must hold and how to fix it. */
  require(condition: boolean, message: string): void {
    if (!condition) throw new CheckpointConfigError(`${this.source}: ${message}`);
  }
}
