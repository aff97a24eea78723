import { stringify } from 'yaml';

/**
 * The behaviour kwok plays on the fake nodes and their pods, as kwok `Stage` objects (kwok.x-k8s.io/v1alpha1).
 * Standalone kwok has no built-in stages, so we give it ours: nodes become Ready at once, a scheduled pod
 * becomes Running and Ready at once, and a pod being deleted goes away at once (no kubelet to wait for),
 * which StatefulSet scale-down, garbage collection and namespace deletion depend on. kwok keeps node leases
 * fresh itself (--node-lease-duration-seconds), so the node lifecycle controller sees healthy nodes.
 * Templates are Go templates over the object; kwok supplies Now, Quote, NodeIP, NodeIPWith, PodIPWith.
 */

interface Stage {
  apiVersion: 'kwok.x-k8s.io/v1alpha1';
  kind: 'Stage';
  metadata: { name: string };
  spec: {
    resourceRef: { apiGroup: 'v1'; kind: 'Node' | 'Pod' };
    selector: {
      matchExpressions: {
        key: string;
        operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
        values?: string[];
      }[];
    };
    next: { statusTemplate?: string; delete?: boolean; finalizers?: { empty: boolean } };
  };
}

const READY_STATUS = '.status.conditions.[] | select( .type == "Ready" ) | .status';

const nodeReadyTemplate = `{{ $now := Now }}
conditions:
- type: Ready
  status: "True"
  reason: KubeletReady
  message: fake kubelet (kwok) is ready
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{- range $type := list "MemoryPressure" "DiskPressure" "PIDPressure" "NetworkUnavailable" }}
- type: {{ $type }}
  status: "False"
  reason: FakeNode
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{- end }}
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: fake
  kubeProxyVersion: fake
  containerRuntimeVersion: kwok
  kernelVersion: ""
  osImage: ""
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`;

const podRunningTemplate = `{{ $now := Now }}
{{- $hostNetwork := false }}{{ with .spec.hostNetwork }}{{ $hostNetwork = . }}{{ end }}
phase: Running
startTime: {{ $now | Quote }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName $hostNetwork .metadata.uid .metadata.name .metadata.namespace | Quote }}
conditions:
{{- range $type := list "PodReadyToStartContainers" "Initialized" "ContainersReady" "Ready" }}
- type: {{ $type }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{- end }}
containerStatuses:
{{- range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{- end }}
{{- with .spec.initContainers }}
initContainerStatuses:
{{- range . }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{- end }}
{{- end }}
`;

export const KWOK_STAGES: readonly Stage[] = [
  {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'tessera-node-ready' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Node' },
      selector: { matchExpressions: [{ key: READY_STATUS, operator: 'NotIn', values: ['True'] }] },
      next: { statusTemplate: nodeReadyTemplate },
    },
  },
  {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'tessera-pod-running' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.podIP', operator: 'DoesNotExist' },
        ],
      },
      next: { statusTemplate: podRunningTemplate },
    },
  },
  {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'tessera-pod-delete' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }] },
      next: { finalizers: { empty: true }, delete: true },
    },
  },
];

/** The stages as the multi-document YAML that `kwok --config` reads. */
export function kwokConfigYaml(stages: readonly Stage[] = KWOK_STAGES): string {
  return stages.map((stage) => `---\n${stringify(stage, { lineWidth: 0 })}`).join('');
}
