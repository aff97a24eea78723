/**
 * The local Kubernetes control plane for tests and the embedded demo: real etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler built from pinned Go sources (tools/controlplane/), with
 * kwok playing the kubelets of fake GPU nodes. See README "Local control plane".
 */
export type { ControlPlaneBinaries } from './binaries.js';
export { controlPlaneBinDir, locateControlPlaneBinaries, MissingBinariesError } from './binaries.js';
export type { ControlPlane, ControlPlaneOptions } from './control-plane.js';
export { startControlPlane } from './control-plane.js';
export type { Component } from './errors.js';
export { ControlPlaneStartError } from './errors.js';
export type { FakeGpuNodeSpec, GpuServerModel } from './fake-nodes.js';
export {
  buildFakeGpuNode,
  FAKE_NODE_TAINT,
  GPU_LABELS,
  GPU_RESOURCE,
  GPU_SERVER_MODELS,
  H100_SXM_PRODUCT,
  KWOK_NODE_ANNOTATION,
  L40S_PRODUCT,
  twoPoolCluster,
} from './fake-nodes.js';
