import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  readonly server: string;
  readonly caCertFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** Names the cluster, user and context alike. */
  readonly name: string;
}

/**
 * Writes a kubeconfig with the CA and client credentials embedded (not referenced), so the file keeps
 * working when copied elsewhere, and kubectl, client-node and the Go components all read it the same way.
 */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  const base64 = (file: string) => readFileSync(file).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: spec.name,
        cluster: { server: spec.server, 'certificate-authority-data': base64(spec.caCertFile) },
      },
    ],
    users: [
      {
        name: spec.name,
        user: {
          'client-certificate-data': base64(spec.clientCertFile),
          'client-key-data': base64(spec.clientKeyFile),
        },
      },
    ],
    contexts: [{ name: spec.name, context: { cluster: spec.name, user: spec.name } }],
    'current-context': spec.name,
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}
