import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Project } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  API_GROUP_VERSION,
  KIND,
  leaderSelector,
  MODEL_ARCHITECTURES,
} from '../../src/shared/api/v1alpha1/index.js';
import { interfaceSchema } from '../../tools/crdgen/convert.js';
import { buildSchema, CRD_FILE, generate } from '../../tools/crdgen/generate.js';
import type { Schema } from '../../tools/crdgen/schema.js';
import { structuralProblems } from '../../tools/crdgen/structural.js';
import { applyDefaults, validate } from '../../tools/crdgen/validate.js';

const ROOT = resolve(import.meta.dirname, '../..');
const schema = buildSchema(ROOT);

/** The schema node at a dotted path through `properties` (`[]` steps into list items). */
function node(path: string): Schema {
  let current: Schema | undefined = schema;
  for (const part of path.split('.')) {
    current = part === '[]' ? current?.items : current?.properties?.[part];
    if (current === undefined) throw new Error(`no schema at ${path}`);
  }
  return current;
}

function rulesAt(path: string): string[] {
  return (node(path)['x-kubernetes-validations'] ?? []).map((r) => r.rule);
}

function crd(): Record<string, unknown> & { spec: { versions: Record<string, unknown>[] } } {
  return parse(readFileSync(join(ROOT, 'crds', CRD_FILE), 'utf8'));
}

describe('committed generated files', () => {
  it.each(generate(ROOT).map((f) => [f.path, f.content]))(
    '%s equals what the generator writes',
    (path, content) => {
      const committed = readFileSync(join(ROOT, path), 'utf8');
      // On failure: run `npm run gen:crd` and commit the result.
      expect(committed).toBe(content);
    },
  );
});

describe('CRD shape', () => {
  const version = crd().spec.versions[0] as {
    subresources: Record<string, unknown>;
    additionalPrinterColumns: { name: string; jsonPath: string }[];
    schema: { openAPIV3Schema: Schema };
  };

  it('has the status and scale subresources, the scale selector coming from status', () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    });
    expect(node('status.selector').type).toBe('string');
  });

  it('prints Ready, Groups, GPUs, Plan and Age columns', () => {
    const names = version.additionalPrinterColumns.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Ready', 'Groups', 'GPUs', 'Plan', 'Age']));
    for (const column of version.additionalPrinterColumns) {
      if (!column.jsonPath.startsWith('.status.') && !column.jsonPath.startsWith('.spec.')) continue;
      const path = column.jsonPath.replace(/\[\?.*\]\.(\w+)$/, '.[].$1').slice(1);
      expect(() => node(path), `${column.name} points at ${column.jsonPath}`).not.toThrow();
    }
  });

  it('is structural, with a description on every field', () => {
    expect(structuralProblems(version.schema.openAPIV3Schema)).toEqual([]);
  });

  it('defaults replicas, so /scale works when Git omits them', () => {
    expect(node('spec.replicas')).toMatchObject({ type: 'integer', default: 1, minimum: 0 });
  });

  it('offers every architecture the planner keys presets on, plus custom', () => {
    expect(node('spec.model.architecture').enum).toEqual([...MODEL_ARCHITECTURES, 'custom']);
  });

  it('lets the API server check what it can check alone', () => {
    expect(rulesAt('spec.model.source')).toHaveLength(1);
    expect(node('spec.parallelism.degrees.cfg')).toMatchObject({ minimum: 1, maximum: 2 });
    for (const axis of ['dataParallel', 'pipefusion', 'ring', 'ulysses']) {
      expect(node(`spec.parallelism.degrees.${axis}`).minimum).toBe(1);
    }
    expect(node('spec.request.height').multipleOf).toBe(16);
    expect(node('spec.request.width').multipleOf).toBe(16);
    expect(rulesAt('spec.parallelism')).toContain("self.mode != 'Manual' || has(self.degrees)");
    expect(node('status.conditions')).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });
});

describe('examples', () => {
  const dir = join(ROOT, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('cover the four scenarios of the issue', () => {
    const docs = files.map((f) => parse(readFileSync(join(dir, f), 'utf8')));
    const specs = docs.map((d) => d.spec);
    expect(specs.some((s) => s.model.architecture === 'flux-dev' && s.placement?.nodeSelector)).toBe(true);
    expect(specs.some((s) => s.model.architecture.startsWith('sd3') && s.parallelism.mode === 'Manual')).toBe(
      true,
    );
    expect(
      specs.some((s) => s.model.architecture === 'pixart-sigma' && s.topology?.intraNodeLink === 'PCIe'),
    ).toBe(true);
    expect(
      specs.some((s) => s.topology?.gpusPerNode && s.topology?.gpuProduct && s.topology?.gpuMemory),
    ).toBe(true);
  });

  it.each(files)('%s is a valid DiTInference once defaulted', (file) => {
    const doc = parse(readFileSync(join(dir, file), 'utf8'));
    expect(doc.apiVersion).toBe(API_GROUP_VERSION);
    expect(doc.kind).toBe(KIND);
    expect(validate(applyDefaults(doc, schema), schema)).toEqual([]);
  });
});

describe('local validator (used on defaults and examples)', () => {
  const example = parse(readFileSync(join(ROOT, 'examples', 'sd3-medium-manual.yaml'), 'utf8'));

  it.each([
    [
      'height 1000',
      (s: Record<string, Record<string, unknown>>) => (s.request!.height = 1000),
      'spec.request.height',
    ],
    [
      'cfg 3',
      (s: Record<string, Record<string, Record<string, unknown>>>) => (s.parallelism!.degrees!.cfg = 3),
      'cfg',
    ],
    [
      'unknown architecture',
      (s: Record<string, Record<string, unknown>>) => (s.model!.architecture = 'sdxl'),
      'architecture',
    ],
    [
      'a typo in a field name',
      (s: Record<string, Record<string, unknown>>) => (s.request!.hieght = 1024),
      'hieght',
    ],
    ['negative replicas', (s: Record<string, unknown>) => (s.replicas = -1), 'spec.replicas'],
  ])('rejects %s, naming the field', (_name, mutate, field) => {
    const doc = structuredClone(example);
    mutate(doc.spec);
    const errors = validate(applyDefaults(doc, schema), schema);
    expect(errors.join('\n')).toContain(field);
  });

  it('fills nested defaults inside a defaulted object, as the API server does', () => {
    const minimal = { spec: { model: { architecture: 'flux-dev', source: { hostPath: { path: '/m' } } } } };
    const defaulted = applyDefaults(minimal, schema) as { spec: Record<string, Record<string, unknown>> };
    expect(defaulted.spec.request).toEqual({
      height: 1024,
      width: 1024,
      steps: 28,
      guidanceScale: 3.5,
      maxBatch: 1,
    });
    expect(defaulted.spec.replicas).toBe(1);
    expect(defaulted.spec.failurePolicy?.type).toBe('RecreateGroup');
  });
});

describe('generator errors name the declaration and the fix', () => {
  function schemaOf(source: string): Schema {
    const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { strict: true } });
    const file = project.createSourceFile('/api.ts', source);
    return interfaceSchema(file.getInterfaceOrThrow('T'));
  }

  it('turns doc comments and tags into the schema', () => {
    const s = schemaOf(`
      export interface T {
        /**
         * How many.
         * @default 3
         * @minimum 1
         * @integer
         */
        n: number;
        /** Which one. */
        pick?: 'a' | 'b';
      }`);
    expect(s).toEqual({
      type: 'object',
      properties: {
        n: { description: 'How many.', type: 'integer', default: 3, minimum: 1 },
        pick: { description: 'Which one.', type: 'string', enum: ['a', 'b'] },
      },
    });
  });

  it.each([
    ['a field without a doc comment', 'n: number;', /every field needs a doc comment/],
    ['an unknown tag', '/** N.\n @minimun 1 */\nn: number;', /unknown tag @minimun/],
    ['a bound on the wrong type', '/** N.\n @maxLength 3 */\nn: number;', /applies to strings/],
    [
      'a rule without a message',
      '/** N.\n @validation {"rule": "self > 1"} */\nn: number;',
      /needs a message/,
    ],
    ['an inline object type', '/** N. */\nn: { a: string };', /declare a documented interface/],
  ])('refuses %s', (_name, member, message) => {
    expect(() => schemaOf(`export interface T {\n${member}\n}`)).toThrow(message);
  });

  it('refuses a package type unless tagged @preserveUnknownFields', () => {
    const project = new Project({
      tsConfigFilePath: join(ROOT, 'tsconfig.json'),
      skipAddingFilesFromTsConfig: true,
    });
    const file = project.createSourceFile(
      join(ROOT, 'src/shared/api/v1alpha1/__probe.ts'),
      "import type { V1Affinity } from '@kubernetes/client-node';\nexport interface T {\n/** A. */\na: V1Affinity;\n}",
    );
    expect(() => interfaceSchema(file.getInterfaceOrThrow('T'))).toThrow(
      /tag the property @preserveUnknownFields/,
    );
  });

  it('reports a default that breaks its own bounds', () => {
    expect(
      structuralProblems({
        type: 'object',
        properties: { n: { description: 'N.', type: 'integer', default: 0, minimum: 1 } },
      }),
    ).toEqual(['default of n: 0 is below the minimum 1']);
  });
});

describe('structural checks', () => {
  const str = { description: 'S.', type: 'string' as const, maxLength: 10 };
  it.each<[string, Schema, string]>([
    [
      'a list without maxItems',
      { type: 'object', properties: { l: { description: 'L.', type: 'array', items: str } } },
      'l: list without maxItems',
    ],
    [
      'a map without maxProperties',
      { type: 'object', properties: { m: { description: 'M.', type: 'object', additionalProperties: str } } },
      'm: map without maxProperties',
    ],
    [
      'properties next to additionalProperties',
      {
        type: 'object',
        properties: {
          o: {
            description: 'O.',
            type: 'object',
            properties: { s: str },
            additionalProperties: str,
            maxProperties: 1,
          },
        },
      },
      'o: has both properties and additionalProperties',
    ],
    [
      'a list-map key its items do not require',
      {
        type: 'object',
        properties: {
          l: {
            description: 'L.',
            type: 'array',
            maxItems: 3,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: { type: 'object', properties: { name: str } },
          },
        },
      },
      'l: list-map key name must be required or defaulted in its items',
    ],
    [
      'a CEL fieldPath to nowhere',
      {
        type: 'object',
        properties: { s: str },
        'x-kubernetes-validations': [{ rule: 'true', message: 'm', fieldPath: '.nope' }],
      },
      'fieldPath .nope, which is not a field',
    ],
    [
      'a field without a description',
      { type: 'object', properties: { s: { type: 'string' } } },
      's: no description',
    ],
  ])('finds %s', (_name, input, problem) => {
    expect(structuralProblems(input).join('\n')).toContain(problem);
  });
});

describe('API constants', () => {
  it('selects group leaders by name and role', () => {
    expect(leaderSelector('flux')).toBe('tessera.dev/name=flux,tessera.dev/role=leader');
  });
});
