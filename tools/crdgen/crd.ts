import { Node, type Project } from 'ts-morph';
import {
  API_GROUP,
  API_VERSION,
  CATEGORIES,
  CRD_NAME,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
} from '../../src/shared/api/v1alpha1/constants.js';
import { propertySchema } from './convert.js';
import { readDocComment } from './doc-comments.js';
import { canonical, type Schema } from './schema.js';
import { applyTags, SchemaSourceError } from './tags.js';
import { applyDefaults } from './validate.js';

/** Where the API types live, relative to the repository root. */
export const API_DIR = 'src/shared/api/v1alpha1';
const ROOT_FILE = `${API_DIR}/ditinference.ts`;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/**
 * `kubectl get dit` columns. Status fields the operator writes feed them: `Groups` is a preformatted
 * `ready/desired` string because printer columns cannot combine two fields.
 */
export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether every desired group serves on the current plan.',
  },
  {
    name: 'Groups',
    type: 'string',
    jsonPath: '.status.groupsReady',
    description: 'Ready groups / desired groups.',
  },
  { name: 'GPUs', type: 'integer', jsonPath: '.status.plan.gpusPerGroup', description: 'GPUs per group.' },
  {
    name: 'Plan',
    type: 'string',
    jsonPath: '.status.plan.summary',
    description: 'Degrees of the chosen plan.',
  },
  {
    name: 'Model',
    type: 'string',
    jsonPath: '.spec.model.architecture',
    description: 'Model architecture.',
    priority: 1,
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Reason of the Ready condition.',
    priority: 1,
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
];

/** The scale subresource: HPA/KEDA scale groups; the selector matches group leaders only. */
export const SCALE_SUBRESOURCE = {
  specReplicasPath: '.spec.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.selector',
} as const;

function rootProperty(project: Project, name: 'spec' | 'status'): Schema {
  return propertySchema(
    project.getSourceFileOrThrow(ROOT_FILE).getInterfaceOrThrow(KIND).getPropertyOrThrow(name),
  );
}

/**
 * Writes nested defaults into every object default (`{}` on `spec.request` becomes `{height: 1024,
 * ...}`). The API server checks a default against the node's CEL rules *without* filling the default's
 * own nested defaults, so a rule reading `self.mode` would fail on a bare `{}`; spelled out, the
 * default is also exactly what the server stores.
 */
function expandObjectDefaults(schema: Schema): void {
  for (const child of Object.values(schema.properties ?? {})) expandObjectDefaults(child);
  if (schema.items !== undefined) expandObjectDefaults(schema.items);
  if (schema.additionalProperties !== undefined) expandObjectDefaults(schema.additionalProperties);
  if (schema.default !== undefined && schema.type === 'object') {
    const { default: value, ...rest } = schema;
    schema.default = applyDefaults(value, rest) as Schema['default'];
  }
}

/** The whole openAPIV3Schema of the kind, from the `DiTInference` interface and what it refers to. */
export function openApiSchema(project: Project): Schema {
  const rootDecl = project.getSourceFileOrThrow(ROOT_FILE).getInterfaceOrThrow(KIND);
  if (!Node.isInterfaceDeclaration(rootDecl))
    throw new SchemaSourceError(ROOT_FILE, `${KIND} must be an interface`);
  const spec = rootProperty(project, 'spec');
  expandObjectDefaults(spec);
  const doc = readDocComment(rootDecl);
  // Root-level CEL rules are the only ones that can read metadata.name.
  const rules: Schema = {};
  applyTags(rules, doc.tags, ROOT_FILE);
  return canonical({
    ...rules,
    description: doc.description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description:
          'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec,
      status: rootProperty(project, 'status'),
    },
  });
}

/** The CustomResourceDefinition object. */
export function customResourceDefinition(schema: Schema): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/part-of': 'tessera' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {}, scale: { ...SCALE_SUBRESOURCE } },
          additionalPrinterColumns: PRINTER_COLUMNS.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}
