/**
 * A plain-HTTP front of the real API server that forwards every request (bearer token included) over
 * TLS and records what was asked, as the API server's authorizer sees it: verb, group, resource,
 * subresource, and the answer's status. Watches stream through. A server-side apply that created its
 * object (201) is recorded as patch and create, since the API server authorizes both for it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  verb: string;
  group: string;
  resource: string;
  status: number;
}

/** Verb and resource of a Kubernetes API path, as the API server's RequestInfo resolves them. */
export function requestInfo(method: string, rawUrl: string): Omit<RecordedRequest, 'status'> | undefined {
  const url = new URL(rawUrl, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  if (!resource) return undefined;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const watch = url.searchParams.get('watch');
  const verbs: Record<string, string> = {
    GET: name ? 'get' : watch === 'true' || watch === '1' ? 'watch' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  const verb = verbs[method];
  return verb ? { verb, group, resource: full } : undefined;
}

export class RecordingProxy {
  readonly requests: RecordedRequest[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(target: string, ca: string | Buffer): Promise<RecordingProxy> {
    const upstream = new URL(target);
    const agent = new https.Agent({ ca, keepAlive: true });
    let proxy: RecordingProxy | undefined;
    const server = http.createServer((req, res) => {
      const info = requestInfo(req.method ?? 'GET', req.url ?? '/');
      const out = https.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (answer) => {
          const status = answer.statusCode ?? 0;
          if (info) {
            proxy?.requests.push({ ...info, status });
            if (info.verb === 'patch' && status === 201)
              proxy?.requests.push({ ...info, verb: 'create', status });
          }
          res.writeHead(status, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** `group/resource verb` of every request that was allowed. */
  usedVerbs(): Set<string> {
    return new Set(
      this.requests
        .filter((r) => r.status < 400 || r.status === 404 || r.status === 409)
        .map((r) => `${r.group}/${r.resource} ${r.verb}`),
    );
  }

  forbidden(): RecordedRequest[] {
    return this.requests.filter((r) => r.status === 403);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
