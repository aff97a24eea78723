import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError } from './errors.js';
import type { KubeObject, ObjectList } from './objects.js';
import { apiVersionOf, type ResourceType, resourcePath } from './resources.js';

/** One watch event as the API server streams it. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/** Content types of the three patch flavours the API server takes. */
export const PATCH_TYPES = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;

export interface KubeClientOptions {
  /** Per-request timeout for non-watch calls. */
  readonly requestTimeoutMs?: number;
}

/**
 * A small JSON client over node's https, authenticated from a KubeConfig. The operator uses it instead
 * of client-node's generated APIs for two reasons: child objects go out as raw JSON (the typed
 * serializer silently drops fields it does not model), and watches are under our control (timeouts,
 * aborts, stall detection), which client-node 1.4's Watch does not give.
 */
export class KubeClient {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;

  private constructor(
    private readonly kubeConfig: KubeConfig,
    server: URL,
    agent: http.Agent,
    options: KubeClientOptions,
  ) {
    this.server = server;
    this.agent = agent;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  static async create(kubeConfig: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster; set current-context');
    const server = new URL(cluster.server);
    // TLS material (CA, client certificate) goes onto one keep-alive agent shared by all requests.
    const tls: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(tls);
    const agent =
      server.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 64,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            rejectUnauthorized: tls.rejectUnauthorized,
            servername: tls.servername,
          })
        : new http.Agent({ keepAlive: true, maxSockets: 64 });
    return new KubeClient(kubeConfig, server, agent, options);
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  async request<T>(options: RequestOptions): Promise<T> {
    const res = await this.send(options, false);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw toApiError(options, status, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async get<T extends KubeObject>(r: ResourceType, namespace: string, name: string): Promise<T> {
    return this.request<T>({ method: 'GET', path: resourcePath(r, { namespace, name }) });
  }

  async list<T extends KubeObject>(
    r: ResourceType,
    query: {
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      limit?: number;
      continue?: string;
    },
  ): Promise<ObjectList<T>> {
    const { namespace, ...rest } = query;
    return this.request<ObjectList<T>>({
      method: 'GET',
      path: resourcePath(r, namespace ? { namespace } : {}),
      query: rest,
    });
  }

  /**
   * Server-side apply of a whole desired object under `fieldManager`. `force` takes over fields another
   * manager set; the operator forces only on objects it owns.
   */
  async apply<T extends KubeObject>(
    r: ResourceType,
    obj: T,
    opts: { fieldManager: string; force: boolean; subresource?: string; dryRun?: boolean },
  ): Promise<T> {
    const namespace = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    if (!name) throw new Error(`apply ${r.kind}: the object has no metadata.name`);
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(r, { namespace, name, subresource: opts.subresource }),
      query: {
        fieldManager: opts.fieldManager,
        force: opts.force,
        ...(opts.dryRun ? { dryRun: 'All' } : {}),
      },
      contentType: PATCH_TYPES.apply,
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj },
    });
  }

  async mergePatch<T extends KubeObject>(
    r: ResourceType,
    at: { namespace: string; name: string; subresource?: string },
    patch: unknown,
    fieldManager: string,
  ): Promise<T> {
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(r, at),
      query: { fieldManager },
      contentType: PATCH_TYPES.merge,
      body: patch,
    });
  }

  async create<T extends KubeObject>(r: ResourceType, obj: T, fieldManager: string): Promise<T> {
    return this.request<T>({
      method: 'POST',
      path: resourcePath(r, { namespace: obj.metadata?.namespace }),
      query: { fieldManager },
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj },
    });
  }

  async replace<T extends KubeObject>(r: ResourceType, obj: T, fieldManager: string): Promise<T> {
    return this.request<T>({
      method: 'PUT',
      path: resourcePath(r, { namespace: obj.metadata?.namespace, name: obj.metadata?.name }),
      query: { fieldManager },
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...obj },
    });
  }

  /**
   * Deletes one object. `uid` makes it a precondition, so a pod that was already replaced by a new one
   * of the same name is never deleted by mistake.
   */
  async delete(
    r: ResourceType,
    at: { namespace: string; name: string },
    opts: { uid?: string; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' } = {},
  ): Promise<void> {
    await this.request({
      method: 'DELETE',
      path: resourcePath(r, at),
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: opts.propagationPolicy ?? 'Background',
        ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
      },
    });
  }

  /**
   * Opens a watch and calls `onEvent` for each event line. Resolves when the server ends the stream
   * (its `timeoutSeconds` elapsed) and rejects on HTTP errors or a broken connection. `onData` fires on
   * every chunk, so a caller can detect a stream that stalled without closing.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    handlers: { onEvent: (e: WatchEvent<T>) => void; onData?: () => void },
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.send({ method: 'GET', path, query: { ...query, watch: true }, signal }, true);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      throw toApiError({ method: 'GET', path }, status, await readAll(res));
    }
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        handlers.onData?.();
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) {
            try {
              handlers.onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              res.destroy(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
          nl = buffer.indexOf('\n');
        }
      });
      res.on('end', () => resolve());
      res.on('error', (err) => reject(new Error(`watch ${path}: stream broke`, { cause: err })));
      res.on('aborted', () => reject(new Error(`watch ${path}: aborted`)));
    });
  }

  private async send(options: RequestOptions, streaming: boolean): Promise<http.IncomingMessage> {
    const url = new URL(options.path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    // Authentication headers (bearer tokens, exec plugins) are refreshed per request by client-node.
    const auth: https.RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(auth);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: http.OutgoingHttpHeaders = {
      ...(auth.headers as http.OutgoingHttpHeaders),
      accept: 'application/json',
    };
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, {
        method: options.method,
        headers,
        agent: this.agent,
        signal: options.signal,
        timeout: streaming ? undefined : this.requestTimeoutMs,
      });
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(new Error(`${options.method} ${options.path}: timed out`)));
      req.on('error', (err) =>
        reject(new Error(`${options.method} ${url.pathname}: request failed`, { cause: err })),
      );
      req.end(body);
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toApiError(
  options: Pick<RequestOptions, 'method' | 'path'>,
  status: number,
  text: string,
): ApiError {
  let reason = 'Unknown';
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason ?? reason;
    message = parsed.message ?? message;
  } catch {
    // Not a Status object (a proxy's HTML page, say); keep the raw text.
  }
  return new ApiError(options.method, options.path, status, reason, message);
}
