/**
 * The subset of apiextensions.k8s.io/v1 JSONSchemaProps that structural CRD schemas use, and the
 * canonical key order the generator writes them in (so the committed YAML reads top-down: what a
 * field is, then its type, then its constraints).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface Schema {
  description?: string;
  type?: SchemaType;
  format?: string;
  enum?: JsonValue[];
  default?: JsonValue;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  anyOf?: Schema[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

const KEY_ORDER: readonly (keyof Schema)[] = [
  'description',
  'type',
  'format',
  'enum',
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
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-validations',
];

/** A copy of `schema` with keys in canonical order, recursively. */
export function canonical(schema: Schema): Schema {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    const value = schema[key];
    if (value === undefined) continue;
    if (key === 'properties') {
      const props = value as Record<string, Schema>;
      out[key] = Object.fromEntries(Object.entries(props).map(([name, child]) => [name, canonical(child)]));
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = canonical(value as Schema);
    } else if (key === 'anyOf') {
      out[key] = (value as Schema[]).map(canonical);
    } else {
      out[key] = value;
    }
  }
  const unknown = Object.keys(schema).filter((k) => !(KEY_ORDER as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new Error(`schema has keys the generator does not know: ${unknown.join(', ')}`);
  return out as Schema;
}
