import type { DocTag } from './doc-comments.js';
import type { JsonValue, Schema, ValidationRule } from './schema.js';

/**
 * The tag vocabulary of the generator. Each tag edits the schema of the declaration it sits on
 * (a property, an interface, or a type alias that properties refer to). Unknown tags are errors, so a
 * typo never silently drops a constraint.
 *
 * | tag | effect |
 * | --- | --- |
 * | `@default <json>` | `default:` (the API server fills it in; such properties are not `required`) |
 * | `@minimum n`, `@maximum n`, `@multipleOf n` | numeric bounds |
 * | `@minLength n`, `@maxLength n`, `@pattern re` | string bounds |
 * | `@minItems n`, `@maxItems n`, `@minProperties n`, `@maxProperties n` | list and map sizes |
 * | `@integer`, `@format f` | `type: integer`, `format:` |
 * | `@intOrString` | int-or-string (Kubernetes quantities) |
 * | `@preserveUnknownFields` | an object the API server stores unchecked (embedded core/v1 types) |
 * | `@listType atomic\|set\|map`, `@listMapKey k` | server-side-apply list semantics |
 * | `@validation {"rule": ..., "message": ...}` | one `x-kubernetes-validations` CEL rule |
 *
 * Enums come from string-literal union types, not from a tag.
 */
export const TAG_NAMES = [
  'default',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'integer',
  'format',
  'intOrString',
  'preserveUnknownFields',
  'listType',
  'listMapKey',
  'validation',
] as const;

/** Thrown for any problem in the API types; `where` names the declaration, so the fix is findable. */
export class SchemaSourceError extends Error {
  override readonly name = 'SchemaSourceError';
  constructor(
    readonly where: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`${where}: ${problem}`, options);
  }
}

function parseNumber(tag: DocTag, where: string): number {
  const value = Number(tag.text);
  if (tag.text === '' || !Number.isFinite(value)) {
    throw new SchemaSourceError(where, `@${tag.name} needs a number, got "${tag.text}"`);
  }
  return value;
}

function parseJson(tag: DocTag, where: string): JsonValue {
  try {
    return JSON.parse(tag.text) as JsonValue;
  } catch (cause) {
    throw new SchemaSourceError(where, `@${tag.name} needs JSON, got "${tag.text}"`, { cause });
  }
}

function parseValidation(tag: DocTag, where: string): ValidationRule {
  const value = parseJson(tag, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof value.rule !== 'string') {
    throw new SchemaSourceError(where, '@validation needs a JSON object with a string "rule"');
  }
  const allowed = ['rule', 'message', 'messageExpression', 'fieldPath', 'reason'];
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    throw new SchemaSourceError(where, `@validation has unknown keys: ${extra.join(', ')}`);
  if (value.message === undefined && value.messageExpression === undefined) {
    throw new SchemaSourceError(
      where,
      `@validation "${value.rule}" needs a message naming the field and the fix`,
    );
  }
  return value as unknown as ValidationRule;
}

function isMap(schema: Schema): boolean {
  return schema.type === 'object' && schema.additionalProperties !== undefined;
}

/** Applies `tags` to `schema` in place; `where` names the declaration for errors. */
export function applyTags(schema: Schema, tags: readonly DocTag[], where: string): void {
  for (const tag of tags) {
    const name = tag.name as (typeof TAG_NAMES)[number];
    if (!(TAG_NAMES as readonly string[]).includes(name)) {
      throw new SchemaSourceError(where, `unknown tag @${tag.name} (known: ${TAG_NAMES.join(', ')})`);
    }
    const expect = (ok: boolean, kind: string) => {
      if (!ok) throw new SchemaSourceError(where, `@${name} applies to ${kind}, not to type ${schema.type}`);
    };
    switch (name) {
      case 'default':
        schema.default = parseJson(tag, where);
        break;
      case 'minimum':
      case 'maximum':
      case 'multipleOf':
        expect(schema.type === 'integer' || schema.type === 'number', 'numbers');
        schema[name] = parseNumber(tag, where);
        break;
      case 'minLength':
      case 'maxLength':
        expect(schema.type === 'string', 'strings');
        schema[name] = parseNumber(tag, where);
        break;
      case 'pattern':
        expect(schema.type === 'string' || schema['x-kubernetes-int-or-string'] === true, 'strings');
        try {
          new RegExp(tag.text);
        } catch (cause) {
          throw new SchemaSourceError(where, `@pattern is not a valid regular expression: ${tag.text}`, {
            cause,
          });
        }
        schema.pattern = tag.text;
        break;
      case 'minItems':
      case 'maxItems':
        expect(schema.type === 'array', 'lists');
        schema[name] = parseNumber(tag, where);
        break;
      case 'minProperties':
      case 'maxProperties':
        expect(isMap(schema), 'maps (Record<string, T>)');
        schema[name] = parseNumber(tag, where);
        break;
      case 'integer':
        expect(schema.type === 'number' || schema.type === 'integer', 'numbers');
        schema.type = 'integer';
        break;
      case 'format':
        schema.format = tag.text;
        break;
      case 'intOrString':
        delete schema.type;
        schema.anyOf = [{ type: 'integer' }, { type: 'string' }];
        schema['x-kubernetes-int-or-string'] = true;
        break;
      case 'preserveUnknownFields':
        for (const key of Object.keys(schema) as (keyof Schema)[])
          if (key !== 'description') delete schema[key];
        schema.type = 'object';
        schema['x-kubernetes-preserve-unknown-fields'] = true;
        break;
      case 'listType':
        expect(schema.type === 'array', 'lists');
        if (tag.text !== 'atomic' && tag.text !== 'set' && tag.text !== 'map') {
          throw new SchemaSourceError(where, `@listType must be atomic, set or map, got "${tag.text}"`);
        }
        schema['x-kubernetes-list-type'] = tag.text;
        break;
      case 'listMapKey':
        expect(schema.type === 'array', 'lists');
        schema['x-kubernetes-list-map-keys'] = [...(schema['x-kubernetes-list-map-keys'] ?? []), tag.text];
        break;
      case 'validation':
        schema['x-kubernetes-validations'] = [
          ...(schema['x-kubernetes-validations'] ?? []),
          parseValidation(tag, where),
        ];
        break;
    }
  }
}
