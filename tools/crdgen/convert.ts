import {
  type InterfaceDeclaration,
  Node,
  type PropertySignature,
  type Type,
  type TypeAliasDeclaration,
  type TypeNode,
} from 'ts-morph';
import { readDocComment } from './doc-comments.js';
import type { Schema } from './schema.js';
import { applyTags, SchemaSourceError } from './tags.js';

/**
 * Turns TypeScript declarations into structural OpenAPI v3 schemas. It walks the type *syntax*
 * (interfaces, aliases, unions, arrays, `Record`), following references into the project's own
 * files; only where the syntax is indirect (`(typeof X)[number]`) does it ask the type checker, and
 * then only for string-literal unions. Types from node_modules are refused unless the property is
 * tagged `@preserveUnknownFields`, so nothing unchecked slips in by accident.
 */

function where(node: Node): string {
  const file = node.getSourceFile().getFilePath().replace(`${process.cwd()}/`, '');
  const name = Node.hasName(node) ? node.getName() : node.getKindName();
  return `${file}:${node.getStartLineNumber()} (${name})`;
}

function isExternal(node: Node): boolean {
  return node.getSourceFile().getFilePath().includes('/node_modules/');
}

/** The schema of an interface: its properties, with interface-level tags (CEL rules) on the object. */
export function interfaceSchema(decl: InterfaceDeclaration): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const member of decl.getMembers()) {
    if (!Node.isPropertySignature(member)) {
      throw new SchemaSourceError(where(member), 'only plain properties can become schema fields');
    }
    const schema = propertySchema(member);
    properties[member.getName()] = schema;
    if (!member.hasQuestionToken() && schema.default === undefined) required.push(member.getName());
  }
  if (decl.getExtends().length > 0) {
    throw new SchemaSourceError(where(decl), 'interfaces with `extends` are not supported; list the fields');
  }
  const schema: Schema = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  const doc = readDocComment(decl);
  applyTags(schema, doc.tags, where(decl));
  return schema;
}

/** The schema of one property: its type's schema, its own description, then its own tags. */
export function propertySchema(prop: PropertySignature): Schema {
  const doc = readDocComment(prop);
  const at = where(prop);
  let schema: Schema;
  if (doc.tags.some((t) => t.name === 'preserveUnknownFields')) {
    schema = {};
  } else {
    const typeNode = prop.getTypeNode();
    if (typeNode === undefined) throw new SchemaSourceError(at, 'property needs a written type');
    schema = typeNodeSchema(typeNode, at);
  }
  const description = doc.description || schema.description;
  if (!description)
    throw new SchemaSourceError(at, 'every field needs a doc comment; it becomes the description');
  schema.description = description;
  applyTags(schema, doc.tags, at);
  return schema;
}

function aliasSchema(decl: TypeAliasDeclaration): Schema {
  const typeNode = decl.getTypeNodeOrThrow();
  const schema = typeNodeSchema(typeNode, where(decl));
  const doc = readDocComment(decl);
  applyTags(schema, doc.tags, where(decl));
  // An alias's prose describes the alias (e.g. "A 32-bit integer"), not the field; fields bring their own.
  delete schema.description;
  return schema;
}

function stringEnumFromChecker(type: Type, at: string): Schema {
  const members = type.isUnion() ? type.getUnionTypes() : [type];
  const values = members.map((m) => {
    const value = m.getLiteralValue();
    if (!m.isStringLiteral() || typeof value !== 'string') {
      throw new SchemaSourceError(at, `type ${type.getText()} is not a union of string literals`);
    }
    return value;
  });
  return { type: 'string', enum: values };
}

function typeNodeSchema(node: TypeNode, at: string): Schema {
  if (Node.isParenthesizedTypeNode(node)) return typeNodeSchema(node.getTypeNode(), at);
  if (Node.isTypeOperatorTypeNode(node)) return typeNodeSchema(node.getTypeNode(), at); // readonly T[]
  const text = node.getText();
  if (text === 'string') return { type: 'string' };
  if (text === 'number') return { type: 'number' };
  if (text === 'boolean') return { type: 'boolean' };
  if (Node.isLiteralTypeNode(node)) return stringEnumFromChecker(node.getType(), at);
  if (Node.isArrayTypeNode(node))
    return { type: 'array', items: typeNodeSchema(node.getElementTypeNode(), at) };
  if (Node.isUnionTypeNode(node)) return unionSchema(node.getTypeNodes(), at);
  if (Node.isTypeLiteral(node)) {
    throw new SchemaSourceError(at, 'inline object types are not supported; declare a documented interface');
  }
  if (Node.isTypeReference(node)) return referenceSchema(node, at);
  if (Node.isIndexedAccessTypeNode(node)) return stringEnumFromChecker(node.getType(), at);
  throw new SchemaSourceError(at, `unsupported type syntax: ${text}`);
}

function unionSchema(members: TypeNode[], at: string): Schema {
  const kept = members.filter((m) => !['undefined', 'null'].includes(m.getText()));
  if (kept.length === 1 && kept[0] !== undefined) return typeNodeSchema(kept[0], at);
  if (kept.every((m) => Node.isLiteralTypeNode(m))) {
    return { type: 'string', enum: kept.flatMap((m) => stringEnumFromChecker(m.getType(), at).enum ?? []) };
  }
  const texts = kept.map((m) => m.getText()).sort();
  // `string | number` is how the types spell int-or-string (Kubernetes quantities).
  if (texts.join('|') === 'number|string') {
    return { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true };
  }
  throw new SchemaSourceError(
    at,
    `unions other than string literals are not supported: ${kept.map((m) => m.getText()).join(' | ')}`,
  );
}

function referenceSchema(node: TypeNode, at: string): Schema {
  if (!Node.isTypeReference(node)) throw new SchemaSourceError(at, 'expected a type reference');
  const name = node.getTypeName().getText();
  const args = node.getTypeArguments();
  if ((name === 'Array' || name === 'ReadonlyArray') && args[0] !== undefined) {
    return { type: 'array', items: typeNodeSchema(args[0], at) };
  }
  if (name === 'Record' && args.length === 2 && args[0]?.getText() === 'string' && args[1] !== undefined) {
    return { type: 'object', additionalProperties: typeNodeSchema(args[1], at) };
  }
  const symbol = node.getTypeName().getSymbol();
  const target = symbol?.isAlias() ? symbol.getAliasedSymbol() : symbol;
  const decl = target?.getDeclarations()[0];
  if (decl === undefined) throw new SchemaSourceError(at, `cannot resolve type ${name}`);
  if (isExternal(decl)) {
    throw new SchemaSourceError(
      at,
      `${name} comes from a package; tag the property @preserveUnknownFields or declare a structural type`,
    );
  }
  if (Node.isInterfaceDeclaration(decl)) {
    const schema = interfaceSchema(decl);
    const description = readDocComment(decl).description;
    if (description) schema.description = description;
    return schema;
  }
  if (Node.isTypeAliasDeclaration(decl)) return aliasSchema(decl);
  throw new SchemaSourceError(
    at,
    `type ${name} is a ${decl.getKindName()}; use an interface or a type alias`,
  );
}
