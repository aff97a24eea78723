import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlaneStartError } from './errors.js';

const run = promisify(execFile);

/** The PEM files of one local cluster; every path is inside the cluster's work folder. */
export interface ClusterCertificates {
  readonly caCert: string;
  readonly caKey: string;
  /** kube-apiserver's serving certificate (SANs: 127.0.0.1, localhost, the kubernetes Service). */
  readonly servingCert: string;
  readonly servingKey: string;
  /** A client certificate in group system:masters: the admin user of kubectl, the tests and the components. */
  readonly adminCert: string;
  readonly adminKey: string;
  /** The key pair that signs and verifies service-account tokens. */
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

/** The first address of the Service range is the `kubernetes` Service; the serving cert must name it. */
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/12';
const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** Everything above, signed by a fresh CA. Uses the openssl CLI: Node has no X.509 certificate builder. */
export async function generateClusterCertificates(dir: string): Promise<ClusterCertificates> {
  const file = (name: string) => join(dir, name);
  const certs: ClusterCertificates = {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    servingCert: file('apiserver.crt'),
    servingKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
  };

  await selfSignedCa(dir, certs);
  await signedLeaf(dir, 'apiserver', certs, {
    subject: ['CN = kube-apiserver'],
    extensions: [
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${[
        'IP:127.0.0.1',
        `IP:${KUBERNETES_SERVICE_IP}`,
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
      ].join(',')}`,
    ],
  });
  await signedLeaf(dir, 'admin', certs, {
    subject: ['O = system:masters', 'CN = tessera-admin'],
    extensions: ['extendedKeyUsage = clientAuth'],
  });

  // ES256 service-account keys; the apiserver and controller-manager accept SEC1/PKIX PEM.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(certs.serviceAccountKey, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(certs.serviceAccountPublicKey, publicKey.export({ type: 'spki', format: 'pem' }));
  return certs;
}

/** An openssl config of our own, so nothing depends on the host's openssl.cnf. */
function opensslConfig(subject: readonly string[], extensions: readonly string[]): string {
  return [
    '[req]',
    'prompt = no',
    'distinguished_name = dn',
    '[dn]',
    ...subject,
    '[ext]',
    ...extensions,
    '',
  ].join('\n');
}

async function selfSignedCa(dir: string, certs: ClusterCertificates): Promise<void> {
  const config = join(dir, 'ca.cnf');
  writeFileSync(
    config,
    opensslConfig(
      ['CN = tessera-devcluster-ca'],
      [
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
        'subjectKeyIdentifier = hash',
      ],
    ),
  );
  await openssl('creating the cluster CA', [
    'req',
    '-x509',
    '-new',
    ...EC_KEY,
    '-nodes',
    '-keyout',
    certs.caKey,
    '-out',
    certs.caCert,
    '-days',
    '3650',
    '-config',
    config,
    '-extensions',
    'ext',
  ]);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

async function signedLeaf(
  dir: string,
  name: string,
  certs: ClusterCertificates,
  spec: { subject: readonly string[]; extensions: readonly string[] },
): Promise<void> {
  const config = join(dir, `${name}.cnf`);
  const csr = join(dir, `${name}.csr`);
  writeFileSync(
    config,
    opensslConfig(spec.subject, [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'authorityKeyIdentifier = keyid',
      ...spec.extensions,
    ]),
  );
  await openssl(`creating the ${name} key`, [
    'req',
    '-new',
    ...EC_KEY,
    '-nodes',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    csr,
    '-config',
    config,
  ]);
  await openssl(`signing the ${name} certificate`, [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    certs.caCert,
    '-CAkey',
    certs.caKey,
    '-set_serial',
    `0x${randomBytes(12).toString('hex')}`,
    '-days',
    '365',
    '-out',
    join(dir, `${name}.crt`),
    '-extfile',
    config,
    '-extensions',
    'ext',
  ]);
}

async function openssl(step: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args], { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const reason =
      e.code === 'ENOENT'
        ? 'the openssl command is not installed (apt-get install openssl, or run ./scripts/setup)'
        : (e.stderr?.trim() ?? e.message);
    throw new ControlPlaneStartError('certificates', step, reason, '', { cause: err });
  }
}
