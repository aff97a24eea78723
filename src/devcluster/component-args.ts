import type { ClusterCertificates } from './certificates.js';
import { SERVICE_CLUSTER_IP_RANGE } from './certificates.js';
import { KWOK_NODE_ANNOTATION } from './fake-nodes.js';

/** The loopback address every component binds; nothing listens beyond this machine. */
export const LOOPBACK = '127.0.0.1';
/** Pod IPs kwok hands out; nothing routes to them, they only fill pod status. */
export const FAKE_POD_CIDR = '10.244.0.0/16';

/**
 * Command lines of the control-plane components, as pure functions of the cluster's paths and ports so
 * they can be read and tested in one place. The flags follow what envtest gives kube-apiserver, plus a
 * controller-manager and a scheduler (which envtest lacks), so StatefulSets get pods, owned objects are
 * garbage-collected, namespaces finish deleting and pods get bound to nodes.
 */

export function etcdArgs(o: { dataDir: string; clientPort: number; peerPort: number }): string[] {
  const client = `http://${LOOPBACK}:${o.clientPort}`;
  const peer = `http://${LOOPBACK}:${o.peerPort}`;
  return [
    '--name=devcluster',
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=devcluster=${peer}`,
    '--initial-cluster-state=new',
    // A throwaway cluster in a temp folder: durability buys nothing, fsync costs seconds on a busy disk.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiServerArgs(o: {
  certs: ClusterCertificates;
  certDir: string;
  etcdPort: number;
  securePort: number;
  logLevel: number;
}): string[] {
  return [
    `--etcd-servers=http://${LOOPBACK}:${o.etcdPort}`,
    `--bind-address=${LOOPBACK}`,
    `--advertise-address=${LOOPBACK}`,
    `--secure-port=${o.securePort}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.certs.servingCert}`,
    `--tls-private-key-file=${o.certs.servingKey}`,
    `--client-ca-file=${o.certs.caCert}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    // RBAC is real; our admin certificate is in system:masters, so it and the components may do anything,
    // while a test can still check what a service account of its own may do.
    '--authorization-mode=RBAC',
    // As envtest: with the ServiceAccount admission plugin, a pod created in a brand-new namespace races
    // the controller that creates the namespace's `default` ServiceAccount and can be refused.
    '--disable-admission-plugins=ServiceAccount',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${o.certs.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${o.certs.serviceAccountKey}`,
    '--profiling=false',
    `--v=${o.logLevel}`,
  ];
}

/** Where controller-manager and scheduler serve: the same kubeconfig, address, port and certificates. */
interface ServingComponent {
  kubeconfig: string;
  certDir: string;
  securePort: number;
  logLevel: number;
}

/**
 * The flags controller-manager and scheduler share: one kubeconfig for the API and for checking who
 * calls their own secure port on loopback, and a single instance each, so no leader election.
 */
function servingComponentArgs(o: ServingComponent): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--authentication-kubeconfig=${o.kubeconfig}`,
    `--authorization-kubeconfig=${o.kubeconfig}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${o.securePort}`,
    `--cert-dir=${o.certDir}`,
    '--leader-elect=false',
  ];
}

export function controllerManagerArgs(o: ServingComponent & { certs: ClusterCertificates }): string[] {
  return [
    ...servingComponentArgs(o),
    '--controllers=*',
    `--service-account-private-key-file=${o.certs.serviceAccountKey}`,
    `--root-ca-file=${o.certs.caCert}`,
    `--cluster-signing-cert-file=${o.certs.caCert}`,
    `--cluster-signing-key-file=${o.certs.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--profiling=false',
    `--v=${o.logLevel}`,
  ];
}

export function schedulerArgs(o: ServingComponent): string[] {
  return [...servingComponentArgs(o), '--profiling=false', `--v=${o.logLevel}`];
}

export function kwokArgs(o: {
  kubeconfig: string;
  configFile: string;
  serverPort: number;
  logLevel: number;
}): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--config=${o.configFile}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
    `--cidr=${FAKE_POD_CIDR}`,
    `--node-ip=${LOOPBACK}`,
    '--node-lease-duration-seconds=40',
    `--server-address=${LOOPBACK}:${o.serverPort}`,
    `--v=${o.logLevel > 0 ? 'DEBUG' : 'INFO'}`,
  ];
}
