import type { JsonValue, Schema } from './schema.js';

/**
 * A local check of a value against a structural schema: types, enums, bounds, patterns, required and
 * unknown fields. It covers what the API server checks from the schema itself, but not CEL rules (the
 * control-plane tests cover those against a real API server). Used to check schema defaults and the
 * examples without a cluster.
 */
export function validate(value: unknown, schema: Schema, path = ''): string[] {
  const at = path === '' ? '<root>' : path;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'number')
      return Number.isInteger(value) ? [] : [`${at}: must be an integer or a string`];
    if (typeof value !== 'string') return [`${at}: must be an integer or a string`];
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      return [`${at}: "${value}" does not match ${schema.pattern}`];
    }
    return [];
  }
  const typeError = checkType(value, schema, at);
  if (typeError !== undefined) return [typeError];
  const errors: string[] = [];
  if (schema.enum !== undefined && !schema.enum.includes(value as JsonValue)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'number') errors.push(...numberErrors(value, schema, at));
  if (typeof value === 'string') errors.push(...stringErrors(value, schema, at));
  if (Array.isArray(value)) errors.push(...arrayErrors(value, schema, path));
  // An object with neither properties nor additionalProperties is opaque here (root `metadata`,
  // whose schema the API server owns).
  const opaque =
    schema['x-kubernetes-preserve-unknown-fields'] ||
    (schema.properties === undefined && schema.additionalProperties === undefined);
  if (isObject(value) && !opaque) {
    errors.push(...objectErrors(value, schema, path));
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkType(value: unknown, schema: Schema, at: string): string | undefined {
  switch (schema.type) {
    case 'object':
      return isObject(value) ? undefined : `${at}: must be an object`;
    case 'array':
      return Array.isArray(value) ? undefined : `${at}: must be a list`;
    case 'string':
      return typeof value === 'string' ? undefined : `${at}: must be a string`;
    case 'integer':
      return Number.isInteger(value) ? undefined : `${at}: must be an integer`;
    case 'number':
      return typeof value === 'number' ? undefined : `${at}: must be a number`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${at}: must be a boolean`;
    default:
      return undefined;
  }
}

function numberErrors(value: number, s: Schema, at: string): string[] {
  const errors: string[] = [];
  if (s.minimum !== undefined && value < s.minimum)
    errors.push(`${at}: ${value} is below the minimum ${s.minimum}`);
  if (s.maximum !== undefined && value > s.maximum)
    errors.push(`${at}: ${value} is above the maximum ${s.maximum}`);
  if (s.multipleOf !== undefined && value % s.multipleOf !== 0) {
    errors.push(`${at}: ${value} is not a multiple of ${s.multipleOf}`);
  }
  return errors;
}

function stringErrors(value: string, s: Schema, at: string): string[] {
  const errors: string[] = [];
  const length = [...value].length;
  if (s.minLength !== undefined && length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
  if (s.maxLength !== undefined && length > s.maxLength) errors.push(`${at}: longer than ${s.maxLength}`);
  if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) {
    errors.push(`${at}: "${value}" does not match ${s.pattern}`);
  }
  if (s.format === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(`${at}: not an RFC 3339 time`);
  return errors;
}

function arrayErrors(value: unknown[], s: Schema, path: string): string[] {
  const errors: string[] = [];
  const at = path || '<root>';
  if (s.minItems !== undefined && value.length < s.minItems)
    errors.push(`${at}: fewer than ${s.minItems} items`);
  if (s.maxItems !== undefined && value.length > s.maxItems)
    errors.push(`${at}: more than ${s.maxItems} items`);
  if (s.items !== undefined) {
    const items = s.items;
    value.forEach((item, i) => {
      errors.push(...validate(item, items, `${path}[${i}]`));
    });
  }
  const keys = s['x-kubernetes-list-map-keys'];
  if (s['x-kubernetes-list-type'] === 'map' && keys !== undefined) {
    const seen = new Set<string>();
    for (const item of value) {
      const key = JSON.stringify(keys.map((k) => (isObject(item) ? item[k] : undefined)));
      if (seen.has(key)) errors.push(`${at}: duplicate entry with ${keys.join(', ')} = ${key}`);
      seen.add(key);
    }
  }
  return errors;
}

function objectErrors(value: Record<string, unknown>, s: Schema, path: string): string[] {
  const errors: string[] = [];
  const at = path || '<root>';
  const count = Object.keys(value).length;
  if (s.minProperties !== undefined && count < s.minProperties)
    errors.push(`${at}: fewer than ${s.minProperties} entries`);
  if (s.maxProperties !== undefined && count > s.maxProperties)
    errors.push(`${at}: more than ${s.maxProperties} entries`);
  for (const name of s.required ?? []) {
    if (value[name] === undefined) errors.push(`${path === '' ? '' : `${path}.`}${name}: required`);
  }
  for (const [name, child] of Object.entries(value)) {
    const childPath = path === '' ? name : `${path}.${name}`;
    const childSchema = s.properties?.[name] ?? s.additionalProperties;
    if (childSchema === undefined) {
      errors.push(`${childPath}: unknown field (the API server would drop it)`);
      continue;
    }
    errors.push(...validate(child, childSchema, childPath));
  }
  return errors;
}

/**
 * A copy of `value` with schema defaults filled in the way the API server does it: a missing field
 * with a default gets the default, and defaults inside a defaulted object are applied too.
 */
export function applyDefaults(value: unknown, schema: Schema): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items === undefined ? value : value.map((item) => applyDefaults(item, items));
  }
  if (!isObject(value) || schema['x-kubernetes-preserve-unknown-fields']) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(out[name], child);
  }
  const extra = schema.additionalProperties;
  if (extra !== undefined) {
    for (const [name, child] of Object.entries(out)) out[name] = applyDefaults(child, extra);
  }
  return out;
}
