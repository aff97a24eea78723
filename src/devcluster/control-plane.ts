import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { type Logger, log as rootLog } from '../shared/log.js';
import { type ControlPlaneBinaries, controlPlaneBinaryPaths, controlPlaneBinDir } from './binaries.js';
import { type ClusterCertificates, generateClusterCertificates } from './certificates.js';
import {
  registerForCleanup,
  removeWorkDirNow,
  startWatchdog,
  unregisterFromCleanup,
  writePgids,
} from './cleanup.js';
import {
  apiServerArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokArgs,
  LOOPBACK,
  schedulerArgs,
} from './component-args.js';
import { type Component, ControlPlaneStartError } from './errors.js';
import { buildFakeGpuNode, type FakeGpuNodeSpec, validateFakeGpuNodeSpec } from './fake-nodes.js';
import { writeKubeconfig } from './kubeconfig.js';
import { kwokConfigYaml } from './kwok-stages.js';
import { freePort } from './ports.js';
import { SupervisedProcess, signalGroup } from './process.js';
import { type ProbeTls, pollUntil, waitForHealthy } from './readiness.js';

export interface ControlPlaneOptions {
  /** Fake GPU nodes created before startControlPlane resolves. */
  nodes?: FakeGpuNodeSpec[];
  /** Run kube-controller-manager (StatefulSet→Pods, garbage collection, namespaces); default true. */
  controllerManager?: boolean;
  /** Run kube-scheduler (binds pods to nodes); default true. */
  scheduler?: boolean;
  /** Run kwok (fake kubelets: fake nodes Ready, scheduled pods Running and Ready); default true. */
  kwok?: boolean;
  /** klog verbosity (--v) of the Kubernetes components; default 1. Logs go to files in workDir. */
  logLevel?: number;
  /** Folder holding the binaries; default: the build scripts/setup made (see controlPlaneBinDir). */
  binDir?: string;
  /** kube-apiserver's port; default a free one. Mostly for tests of start failures. */
  apiServerPort?: number;
  /**
   * CustomResourceDefinition manifests (file paths) applied before the controller-manager starts. Its
   * garbage collector rediscovers resource types only every 30 s, so a CRD installed later leaves custom
   * objects' dependents undeleted for up to 30 s after their owner goes; installed here, GC is immediate.
   */
  crds?: string[];
  /** Bound on each component's readiness wait; default 90 s (a cold apiserver on 2 busy cores is slow). */
  readyTimeoutMs?: number;
}

export interface ControlPlane {
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> of kube-apiserver. */
  readonly server: string;
  /** The temp folder holding certificates, etcd data, the kubeconfig and one log per component. */
  readonly workDir: string;
  /** A client-node KubeConfig loaded from kubeconfigPath (admin, group system:masters). */
  kubeConfig(): KubeConfig;
  /** Runs the built kubectl against this cluster. Rejects only when it cannot run or times out. */
  kubectl(
    args: string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Creates fake GPU nodes and (with kwok) waits until they are Ready and schedulable; returns their names. */
  addGpuNodes(spec: FakeGpuNodeSpec): Promise<string[]>;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves once it is ready. */
  restartApiServer(): Promise<void>;
  /** Idempotent: stops every process, frees the ports and removes workDir. */
  stop(): Promise<void>;
  /** Process ids and ports of the running components (for diagnostics and leak checks). */
  readonly processes: ReadonlyArray<{ component: Component; pid: number; ports: readonly number[] }>;
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

const DEFAULT_READY_TIMEOUT_MS = 90_000;
const NODE_READY_TIMEOUT_MS = 60_000;
/** Taints the node lifecycle controller sets from the Ready condition (and lifts once Ready). */
const NODE_CONDITION_TAINTS: readonly string[] = [
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
];
const KUBECTL_TIMEOUT_MS = 60_000;

/** Starts etcd, kube-apiserver and (by default) kube-controller-manager, kube-scheduler and kwok. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  // Each needed binary is checked in start(), so a missing one is reported as that component's failure.
  const bins = controlPlaneBinaryPaths(opts.binDir ?? controlPlaneBinDir());
  const cluster = new LocalControlPlane(bins, opts);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

class LocalControlPlane implements ControlPlane {
  readonly workDir: string;
  readonly kubeconfigPath: string;
  private readonly bins: ControlPlaneBinaries;
  private readonly opts: ControlPlaneOptions;
  private readonly log: Logger;
  private readonly running = new Map<Component, SupervisedProcess>();
  private readonly componentPorts = new Map<Component, number[]>();
  private readonly nodeCounters = new Map<string, number>();
  private ports: Ports | undefined;
  private certs: ClusterCertificates | undefined;
  private apiServerArgList: string[] = [];
  private watchdogPid = -1;
  private stopping: Promise<void> | undefined;

  constructor(bins: ControlPlaneBinaries, opts: ControlPlaneOptions) {
    this.bins = bins;
    this.opts = opts;
    this.workDir = mkdtempSync(join(tmpdir(), 'tessera-cp-'));
    this.kubeconfigPath = join(this.workDir, 'kubeconfig');
    this.log = rootLog.child({ component: 'devcluster', workDir: this.workDir });
    registerForCleanup(this);
    this.watchdogPid = startWatchdog(this.workDir);
  }

  get server(): string {
    return `https://${LOOPBACK}:${this.ports?.apiServer ?? 0}`;
  }

  get processes(): ReadonlyArray<{ component: Component; pid: number; ports: readonly number[] }> {
    return [...this.running.values()].map((p) => ({
      component: p.component,
      pid: p.pid,
      ports: this.componentPorts.get(p.component) ?? [],
    }));
  }

  private get readyTimeoutMs(): number {
    return this.opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  }

  private get logLevel(): number {
    return this.opts.logLevel ?? 1;
  }

  async start(): Promise<void> {
    const started = Date.now();
    const wanted = this.wantedComponents();
    this.checkBinaries(wanted);

    const certDir = join(this.workDir, 'pki');
    mkdirSync(certDir);
    this.certs = await generateClusterCertificates(certDir);
    const ports = await this.allocatePorts();
    this.ports = ports;

    await this.startEtcd(ports);
    this.apiServerArgList = apiServerArgs({
      certs: this.certs,
      certDir,
      etcdPort: ports.etcdClient,
      securePort: ports.apiServer,
      logLevel: this.logLevel,
    });
    await this.startApiServer();
    writeKubeconfig(this.kubeconfigPath, {
      server: this.server,
      caCertFile: this.certs.caCert,
      clientCertFile: this.certs.adminCert,
      clientKeyFile: this.certs.adminKey,
      name: 'tessera-devcluster',
    });

    await this.installCrds(this.opts.crds ?? []);

    // The rest only need the apiserver; start them together and wait for all.
    await Promise.all([
      wanted.includes('kube-controller-manager') ? this.startControllerManager(certDir, ports) : undefined,
      wanted.includes('kube-scheduler') ? this.startScheduler(certDir, ports) : undefined,
      wanted.includes('kwok') ? this.startKwok(ports) : undefined,
    ]);

    for (const spec of this.opts.nodes ?? []) await this.addGpuNodes(spec);
    this.log.info(
      { server: this.server, components: wanted, startMs: Date.now() - started },
      'Local control plane ready',
    );
  }

  private wantedComponents(): Component[] {
    const wanted: Component[] = ['etcd', 'kube-apiserver', 'kubectl'];
    if (this.opts.controllerManager ?? true) wanted.push('kube-controller-manager');
    if (this.opts.scheduler ?? true) wanted.push('kube-scheduler');
    if (this.opts.kwok ?? true) wanted.push('kwok');
    return wanted;
  }

  /** Fails before starting anything when a needed binary is missing, naming it. */
  private checkBinaries(wanted: readonly Component[]): void {
    for (const component of wanted) {
      const path = this.binaryOf(component);
      if (!existsSync(path)) {
        throw new ControlPlaneStartError(
          component,
          'locating its binary',
          `${path} does not exist — run ./scripts/setup, which builds the control plane into .cache/controlplane/`,
        );
      }
    }
  }

  private binaryOf(component: Component): string {
    switch (component) {
      case 'etcd':
        return this.bins.etcd;
      case 'kube-apiserver':
        return this.bins.kubeApiserver;
      case 'kube-controller-manager':
        return this.bins.kubeControllerManager;
      case 'kube-scheduler':
        return this.bins.kubeScheduler;
      case 'kwok':
        return this.bins.kwok;
      case 'kubectl':
        return this.bins.kubectl;
      case 'certificates':
        return 'openssl';
    }
  }

  private async allocatePorts(): Promise<Ports> {
    // Allocated one after another: the kernel does not hand out a port that is still bound, and each
    // probe socket is closed before the next is asked for, so distinctness is checked explicitly.
    const taken = new Set<number>(this.opts.apiServerPort ? [this.opts.apiServerPort] : []);
    const next = async (): Promise<number> => {
      for (;;) {
        const port = await freePort();
        if (!taken.has(port)) {
          taken.add(port);
          return port;
        }
      }
    };
    return {
      etcdClient: await next(),
      etcdPeer: await next(),
      apiServer: this.opts.apiServerPort ?? (await next()),
      controllerManager: await next(),
      scheduler: await next(),
      kwok: await next(),
    };
  }

  private async launch(component: Component, args: string[], ports: number[]): Promise<SupervisedProcess> {
    let proc: SupervisedProcess;
    try {
      proc = await SupervisedProcess.start({
        component,
        command: this.binaryOf(component),
        args,
        logFile: join(this.workDir, `${component}.log`),
        cwd: this.workDir,
        log: this.log,
      });
    } catch (err) {
      throw new ControlPlaneStartError(component, 'spawning its process', (err as Error).message, '', {
        cause: err,
      });
    }
    this.running.set(component, proc);
    this.componentPorts.set(component, ports);
    writePgids(
      this.workDir,
      [...this.running.values()].map((p) => p.pid),
    );
    void proc.exited.then((exit) => {
      if (!this.stopping && this.running.get(component) === proc) {
        this.log.warn(
          { process: component, exit, logTail: proc.logTail(10) },
          'Control-plane process exited',
        );
      }
    });
    return proc;
  }

  private async startEtcd(ports: Ports): Promise<void> {
    const proc = await this.launch(
      'etcd',
      etcdArgs({
        dataDir: join(this.workDir, 'etcd-data'),
        clientPort: ports.etcdClient,
        peerPort: ports.etcdPeer,
      }),
      [ports.etcdClient, ports.etcdPeer],
    );
    await waitForHealthy(proc, `http://${LOOPBACK}:${ports.etcdClient}/health`, {
      timeoutMs: this.readyTimeoutMs,
    });
  }

  private async startApiServer(): Promise<void> {
    const ports = this.requirePorts();
    const proc = await this.launch('kube-apiserver', this.apiServerArgList, [ports.apiServer]);
    await waitForHealthy(proc, `${this.server}/readyz`, {
      timeoutMs: this.readyTimeoutMs,
      tls: this.adminTls(),
    });
  }

  private async startControllerManager(certDir: string, ports: Ports): Promise<void> {
    const proc = await this.launch(
      'kube-controller-manager',
      controllerManagerArgs({
        certs: this.requireCerts(),
        kubeconfig: this.kubeconfigPath,
        certDir: join(certDir, 'kube-controller-manager'),
        securePort: ports.controllerManager,
        logLevel: this.logLevel,
      }),
      [ports.controllerManager],
    );
    await waitForHealthy(proc, `https://${LOOPBACK}:${ports.controllerManager}/healthz`, {
      timeoutMs: this.readyTimeoutMs,
    });
  }

  private async startScheduler(certDir: string, ports: Ports): Promise<void> {
    const proc = await this.launch(
      'kube-scheduler',
      schedulerArgs({
        kubeconfig: this.kubeconfigPath,
        certDir: join(certDir, 'kube-scheduler'),
        securePort: ports.scheduler,
        logLevel: this.logLevel,
      }),
      [ports.scheduler],
    );
    await waitForHealthy(proc, `https://${LOOPBACK}:${ports.scheduler}/readyz`, {
      timeoutMs: this.readyTimeoutMs,
    });
  }

  private async startKwok(ports: Ports): Promise<void> {
    const configFile = join(this.workDir, 'kwok.yaml');
    writeFileSync(configFile, kwokConfigYaml());
    const proc = await this.launch(
      'kwok',
      kwokArgs({
        kubeconfig: this.kubeconfigPath,
        configFile,
        serverPort: ports.kwok,
        logLevel: this.logLevel,
      }),
      [ports.kwok],
    );
    await waitForHealthy(proc, `http://${LOOPBACK}:${ports.kwok}/healthz`, {
      timeoutMs: this.readyTimeoutMs,
    });
  }

  private async installCrds(files: readonly string[]): Promise<void> {
    if (files.length === 0) return;
    const apply = await this.kubectl(['apply', '--server-side', ...files.flatMap((f) => ['-f', f])]);
    if (apply.code !== 0) {
      throw new ControlPlaneStartError(
        'kubectl',
        'installing the CRDs given in options.crds',
        apply.stderr.trim(),
      );
    }
    const names = apply.stdout
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((ref) => ref.startsWith('customresourcedefinition'));
    if (names.length === 0) return;
    const wait = await this.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
    if (wait.code !== 0) {
      throw new ControlPlaneStartError(
        'kube-apiserver',
        'establishing the CRDs given in options.crds',
        wait.stderr.trim(),
      );
    }
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  kubectl(
    args: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const timeoutMs = opts.timeoutMs ?? KUBECTL_TIMEOUT_MS;
    return new Promise((resolveRun, reject) => {
      const child = spawn(this.bins.kubectl, [`--kubeconfig=${this.kubeconfigPath}`, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `kubectl ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr.trim()}`,
          ),
        );
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`kubectl could not be run (${this.bins.kubectl}): ${err.message}`, { cause: err }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.on('error', () => {
        // kubectl may exit before reading all input; its exit status tells what happened.
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  async addGpuNodes(spec: FakeGpuNodeSpec): Promise<string[]> {
    validateFakeGpuNodeSpec(spec);
    const prefix = spec.namePrefix ?? 'gpu-node';
    const first = this.nodeCounters.get(prefix) ?? 0;
    this.nodeCounters.set(prefix, first + spec.count);
    const names = Array.from({ length: spec.count }, (_, i) => `${prefix}-${first + i}`);
    const api = this.kubeConfig().makeApiClient(CoreV1Api);
    for (const name of names) {
      try {
        await api.createNode({ body: buildFakeGpuNode(spec, name) });
      } catch (err) {
        throw new Error(`creating fake GPU node ${name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    if (this.running.has('kwok')) await this.waitForNodesReady(api, names);
    this.log.debug({ nodes: names, gpus: spec.gpus }, 'Added fake GPU nodes');
    return names;
  }

  /**
   * Ready, and (with a controller-manager) without the `node.kubernetes.io/not-ready` taint the API
   * server puts on every new node: the node lifecycle controller lifts it a moment after Ready, and
   * until then the scheduler and the operator treat the node as unusable, so a test that plans right
   * after adding nodes would otherwise see fewer of them than it added.
   */
  private async waitForNodesReady(api: CoreV1Api, names: readonly string[]): Promise<void> {
    const taintsLifted = this.running.has('kube-controller-manager');
    const usable = (node: V1Node) =>
      (node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false) &&
      (!taintsLifted || !(node.spec?.taints ?? []).some((t) => NODE_CONDITION_TAINTS.includes(t.key)));
    let notReady: string[] = [...names];
    await pollUntil(
      async () => {
        const nodes = await Promise.all(notReady.map((name) => api.readNode({ name })));
        notReady = nodes.filter((n) => !usable(n)).map((n) => n.metadata?.name ?? '?');
        return notReady.length === 0 ? true : undefined;
      },
      {
        timeoutMs: NODE_READY_TIMEOUT_MS,
        onTimeout: () =>
          new ControlPlaneStartError(
            'kwok',
            'making fake nodes Ready',
            `nodes ${notReady.join(', ')} not Ready and untainted after ${NODE_READY_TIMEOUT_MS / 1000} s`,
            this.running.get('kwok')?.logTail() ?? '',
          ),
      },
    );
  }

  async restartApiServer(): Promise<void> {
    const current = this.running.get('kube-apiserver');
    if (!current || this.stopping) throw new Error('restartApiServer: the control plane is not running');
    this.running.delete('kube-apiserver');
    const stopping = Date.now();
    // Graceful termination drains ordinary requests in milliseconds, then waits for the open watches of
    // the other components to end, which they never do on their own; after 3 s we stop waiting.
    await current.stop(3_000);
    const starting = Date.now();
    await this.startApiServer();
    this.log.info(
      { server: this.server, stopMs: starting - stopping, startMs: Date.now() - starting },
      'Restarted kube-apiserver',
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const stopOne = async (component: Component) => {
      const proc = this.running.get(component);
      if (proc) await proc.stop();
    };
    // Clients first, so nothing logs connection errors against a vanished apiserver; etcd last.
    await Promise.all([stopOne('kwok'), stopOne('kube-scheduler'), stopOne('kube-controller-manager')]);
    await stopOne('kube-apiserver');
    await stopOne('etcd');
    signalGroup(this.watchdogPid, 'SIGKILL');
    this.keepLogsIfAsked();
    removeWorkDirNow(this.workDir);
    unregisterFromCleanup(this);
    this.log.debug('Local control plane stopped');
  }

  /**
   * With TESSERA_DEVCLUSTER_LOGS=<dir>, the component logs are copied to <dir>/<cluster folder name>/
   * before the work folder is removed, for debugging a failed run; by default nothing is kept.
   */
  private keepLogsIfAsked(): void {
    const keepDir = process.env.TESSERA_DEVCLUSTER_LOGS;
    if (!keepDir) return;
    try {
      const target = join(keepDir, basename(this.workDir));
      mkdirSync(target, { recursive: true });
      for (const file of readdirSync(this.workDir).filter((f) => f.endsWith('.log'))) {
        copyFileSync(join(this.workDir, file), join(target, file));
      }
      this.log.info({ logs: target }, 'Kept the control-plane logs');
    } catch (err) {
      this.log.warn({ err, keepDir }, 'Could not keep the control-plane logs');
    }
  }

  /** Synchronous teardown for exit and signal handlers (see cleanup.ts). */
  killNow(): void {
    for (const proc of this.running.values()) proc.killNow();
    signalGroup(this.watchdogPid, 'SIGKILL');
    removeWorkDirNow(this.workDir);
  }

  private adminTls(): ProbeTls {
    const certs = this.requireCerts();
    return {
      ca: readFileSync(certs.caCert),
      cert: readFileSync(certs.adminCert),
      key: readFileSync(certs.adminKey),
    };
  }

  private requireCerts(): ClusterCertificates {
    if (!this.certs) throw new Error('bug: certificates used before they were generated');
    return this.certs;
  }

  private requirePorts(): Ports {
    if (!this.ports) throw new Error('bug: ports used before they were allocated');
    return this.ports;
  }
}
