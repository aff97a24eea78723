import type { Schema } from './schema.js';
import { validate } from './validate.js';

/**
 * Checks the rules a CRD schema must follow to be structural (and a few of our own that keep the API
 * usable), before the API server ever sees it. Returns one message per problem, each naming the
 * schema path.
 *
 * Structural (apiextensions.k8s.io/v1): every node has a `type` unless it is int-or-string; objects
 * have `properties` or `additionalProperties`, not both; lists have `items`; defaults are valid values
 * of their node.
 * Ours: every field has a description (it is `kubectl explain`'s text); every list has `maxItems` and
 * every map `maxProperties`, which bounds the cost of CEL rules; map-type lists name keys that their
 * items require; each CEL rule's `fieldPath` points at a field that exists.
 */
export function structuralProblems(root: Schema): string[] {
  const problems: string[] = [];
  walk(root, '', true, problems);
  return problems;
}

function walk(s: Schema, path: string, isRoot: boolean, problems: string[]): void {
  const at = path || '<root>';
  if (!isRoot && !s.description) problems.push(`${at}: no description`);
  if (s.type === undefined && !s['x-kubernetes-int-or-string']) problems.push(`${at}: no type`);
  if (s['x-kubernetes-preserve-unknown-fields'] && s.type !== 'object') {
    problems.push(`${at}: x-kubernetes-preserve-unknown-fields needs type object`);
  }
  if (s.enum?.some((v) => typeof v !== (s.type === 'string' ? 'string' : 'number'))) {
    problems.push(`${at}: enum values do not match type ${s.type}`);
  }
  if (s.default !== undefined) {
    const { default: value, ...withoutDefault } = s;
    // As the API server does: the default as written, nested defaults not filled in.
    for (const error of validate(value, withoutDefault, at)) {
      problems.push(`default of ${error}`);
    }
  }
  if (s.type === 'object') walkObject(s, path, problems);
  if (s.type === 'array') walkArray(s, path, problems);
  for (const rule of s['x-kubernetes-validations'] ?? []) {
    if (rule.fieldPath !== undefined && !fieldPathExists(s, rule.fieldPath)) {
      problems.push(`${at}: CEL rule "${rule.rule}" has fieldPath ${rule.fieldPath}, which is not a field`);
    }
  }
}

function walkObject(s: Schema, path: string, problems: string[]): void {
  const at = path || '<root>';
  if (s.properties !== undefined && s.additionalProperties !== undefined) {
    problems.push(`${at}: has both properties and additionalProperties`);
  }
  if (
    s.properties === undefined &&
    s.additionalProperties === undefined &&
    !s['x-kubernetes-preserve-unknown-fields']
  ) {
    problems.push(
      `${at}: object with neither properties nor additionalProperties (everything would be pruned)`,
    );
  }
  for (const name of s.required ?? []) {
    if (s.properties?.[name] === undefined) problems.push(`${at}: requires ${name}, which is not a property`);
  }
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    // The API server owns metadata's schema; a CRD may only say `type: object` there.
    if (path === '' && name === 'metadata') continue;
    walk(child, path === '' ? name : `${path}.${name}`, false, problems);
  }
  if (s.additionalProperties !== undefined) {
    if (s.maxProperties === undefined) problems.push(`${at}: map without maxProperties (unbounded CEL cost)`);
    walkItem(s.additionalProperties, `${path}[*]`, problems);
  }
}

function walkArray(s: Schema, path: string, problems: string[]): void {
  const at = path || '<root>';
  if (s.items === undefined) {
    problems.push(`${at}: list without items`);
    return;
  }
  if (s.maxItems === undefined) problems.push(`${at}: list without maxItems (unbounded CEL cost)`);
  const keys = s['x-kubernetes-list-map-keys'];
  if (s['x-kubernetes-list-type'] === 'map') {
    if (keys === undefined || keys.length === 0) problems.push(`${at}: list-type map without list-map-keys`);
    for (const key of keys ?? []) {
      const keyed = s.items.required?.includes(key) || s.items.properties?.[key]?.default !== undefined;
      if (!keyed) problems.push(`${at}: list-map key ${key} must be required or defaulted in its items`);
    }
  } else if (keys !== undefined) {
    problems.push(`${at}: list-map-keys without list-type map`);
  }
  walkItem(s.items, `${path}[*]`, problems);
}

/** Items and map values carry no description of their own (the list's describes them). */
function walkItem(s: Schema, path: string, problems: string[]): void {
  walk({ description: s.description ?? 'item', ...s }, path, false, problems);
}

function fieldPathExists(s: Schema, fieldPath: string): boolean {
  let node: Schema | undefined = s;
  for (const part of fieldPath.split('.').slice(1)) {
    node = node?.properties?.[part];
    if (node === undefined) return false;
  }
  return true;
}
