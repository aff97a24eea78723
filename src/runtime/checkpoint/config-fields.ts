/**
 * Typed reads of a Diffusers `config.json`: a missing key takes the constructor default (Diffusers'
 * register_to_config semantics); a present key of the wrong type is an error naming the file and field.
 */
import { readFileSync } from 'node:fs';

export class CheckpointConfigError extends Error {
  override readonly name = 'CheckpointConfigError';
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

export class ConfigFields {
  constructor(
    private readonly raw: Record<string, unknown>,
    readonly source: string,
  ) {}

  private fail(key: string, expected: string): never {
    throw new CheckpointConfigError(
      `${this.source}: field "${key}" must be ${expected}, got ${JSON.stringify(this.raw[key])}`,
    );
  }

  /** A positive integer (sizes, counts). */
  count(key: string, fallback: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(key, 'a positive integer');
    return v;
  }

  /** A non-negative integer (block counts may be 0). */
  countOrZero(key: string, fallback: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, 'a non-negative integer');
    return v;
  }

  optionalCount(key: string, fallback: number | null): number | null {
    const v = this.raw[key] === undefined ? fallback : this.raw[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(key, 'a positive integer or null');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  integers(key: string, fallback: readonly number[]): number[] {
    const v = this.raw[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      this.fail(key, 'a list of non-negative integers');
    }
    return [...(v as number[])];
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
