import { type DiTInference, LABELS } from '../../shared/api/v1alpha1/index.js';
import { DEFAULT_RENDEZVOUS_PORT, POD_INDEX_LABEL } from '../../shared/runtime-contract.js';
import type { KubeObject } from '../kube/objects.js';
import { childMeta } from './metadata.js';
import { peersServiceName, servingServiceName } from './names.js';

export interface ServiceObject extends KubeObject {
  spec: Record<string, unknown>;
}

/**
 * The headless Service of all groups' pods. It publishes not-ready addresses: ranks resolve pod 0 to
 * rendezvous long before any of them is Ready (lws#85, grove#134).
 */
export function renderPeersService(inf: DiTInference): ServiceObject {
  const name = inf.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(inf, peersServiceName(name)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { [LABELS.name]: name },
      ports: [
        { name: 'rendezvous', port: DEFAULT_RENDEZVOUS_PORT, targetPort: 'rendezvous', protocol: 'TCP' },
        { name: 'http', port: inf.spec.serving.port, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

/** The Service clients call: the serving port of every group's leader (pod 0), ready ones only. */
export function renderServingService(inf: DiTInference): ServiceObject {
  const name = inf.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(inf, servingServiceName(name)),
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.name]: name, [POD_INDEX_LABEL]: '0' },
      ports: [{ name: 'http', port: inf.spec.serving.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}
