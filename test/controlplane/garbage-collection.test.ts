import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';

// A minimal CRD standing in for DiTInference: the point is the garbage collector, not the schema.
const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.gc.test.tessera.dev' },
  spec: {
    group: 'gc.test.tessera.dev',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

const crdDir = mkdtempSync(join(tmpdir(), 'tessera-gc-test-'));
const crdFile = join(crdDir, 'widget-crd.json');
writeFileSync(crdFile, JSON.stringify(CRD));
afterAll(() => rmSync(crdDir, { recursive: true, force: true }));

const cluster = useControlPlane({ crds: [crdFile], scheduler: false, kwok: false });

describe('options.crds', () => {
  it('installs the CRDs before the controller-manager, so owned objects are collected with their custom owner', async () => {
    const cp = cluster();
    const namespace = await createNamespace(cp, 'gc');
    const created = await cp.kubectl(
      ['create', '-n', namespace, '-o', 'jsonpath={.metadata.uid}', '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'gc.test.tessera.dev/v1',
          kind: 'Widget',
          metadata: { name: 'owner' },
        }),
      },
    );
    expect(created.code).toBe(0);
    const ownerRef = {
      apiVersion: 'gc.test.tessera.dev/v1',
      kind: 'Widget',
      name: 'owner',
      uid: created.stdout,
    };
    const child = await cp.kubectl(['create', '-n', namespace, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'child', ownerReferences: [ownerRef] },
        data: { k: 'v' },
      }),
    });
    expect(child).toMatchObject({ code: 0 });

    expect((await cp.kubectl(['delete', 'widget', 'owner', '-n', namespace])).code).toBe(0);
    // Well inside the garbage collector's 30 s rediscovery period: it already watches Widgets.
    await eventually(
      'the owned ConfigMap is garbage-collected',
      async () => {
        const res = await cp.kubectl([
          'get',
          'configmap',
          'child',
          '-n',
          namespace,
          '--ignore-not-found',
          '-o',
          'name',
        ]);
        return res.code === 0 && res.stdout.trim() === '' ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );
  });
});
