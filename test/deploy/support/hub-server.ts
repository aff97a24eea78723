/**
 * A real HTTP server in a Hugging Face hub's URL layout, serving the files of a folder as one repository:
 * `GET /api/models/{owner}/{name}/revision/{rev}?blobs=true` (commit sha, siblings with size, blobId and
 * lfs {sha256, size} for safetensors) and `GET /{owner}/{name}/resolve/{rev}/{path}` with Range requests
 * (206 + Content-Range). Faults a test can arm: a connection dropped mid-file, bytes that differ from the
 * metadata, a required token. Every file request is recorded with the bytes it sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

export interface ServedRequest {
  path: string;
  rangeStart: number;
  status: number;
  bytesSent: number;
  dropped: boolean;
}

export interface HubFaults {
  /** Close the connection after this many bytes of the first full GET of `path`. */
  dropOnce?: { path: string; afterBytes: number };
  /** Serve `path` with one byte flipped (same size, other hash). */
  corrupt?: string;
  /** Answer 401 unless `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Hold every file response (after recording the request) until this settles: keeps a download in
   * flight while a test starts a second client, instead of hoping the first is still busy.
   */
  holdFilesUntil?: Promise<void>;
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path).split('\\').join('/'));
    }
  };
  walk(root);
  return out.sort();
}

export class LocalHub {
  readonly requests: ServedRequest[] = [];
  readonly commit = randomBytes(20).toString('hex');
  faults: HubFaults = {};
  private droppedAlready = false;

  private constructor(
    private readonly server: Server,
    readonly repository: string,
    private readonly root: string,
    readonly endpoint: string,
  ) {}

  static async start(repository: string, root: string): Promise<LocalHub> {
    let hub: LocalHub | undefined;
    const server = createServer((req, res) => hub?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    hub = new LocalHub(server, repository, root, `http://127.0.0.1:${port}`);
    return hub;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  arm(faults: HubFaults): void {
    this.faults = faults;
    this.droppedAlready = false;
    this.requests.length = 0;
  }

  private sibling(path: string) {
    const bytes = readFileSync(join(this.root, path));
    const blobId = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    return {
      rfilename: path,
      size: bytes.length,
      blobId,
      ...(path.endsWith('.safetensors')
        ? {
            lfs: {
              sha256: createHash('sha256').update(bytes).digest('hex'),
              size: bytes.length,
              pointerSize: 134,
            },
          }
        : {}),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.endpoint);
    if (this.faults.token && req.headers.authorization !== `Bearer ${this.faults.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Invalid credentials in Authorization header' }));
      return;
    }
    const api = `/api/models/${this.repository}/revision/`;
    const resolve = `/${this.repository}/resolve/`;
    const path = decodeURIComponent(url.pathname);
    if (path.startsWith(api)) {
      const revision = path.slice(api.length);
      if (revision !== 'main' && revision !== this.commit) {
        this.notFound(res, 'Revision Not Found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: this.repository,
          sha: this.commit,
          siblings: filesUnder(this.root).map((p) => this.sibling(p)),
        }),
      );
      return;
    }
    if (path.startsWith(resolve)) {
      const [revision, ...rest] = path.slice(resolve.length).split('/');
      const file = rest.join('/');
      if ((revision !== 'main' && revision !== this.commit) || !filesUnder(this.root).includes(file)) {
        this.notFound(res, 'Entry not found');
        return;
      }
      const hold = this.faults.holdFilesUntil;
      if (hold) {
        const record = this.record(file, req);
        void hold.then(() => this.serveFile(req, res, file, record));
      } else {
        this.serveFile(req, res, file, this.record(file, req));
      }
      return;
    }
    this.notFound(res, 'Repository Not Found');
  }

  private notFound(res: ServerResponse, error: string): void {
    res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': 'RepoNotFound' });
    res.end(JSON.stringify({ error }));
  }

  private record(file: string, req: IncomingMessage): ServedRequest {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const record: ServedRequest = {
      path: file,
      rangeStart: range ? Number(range[1]) : 0,
      status: 0,
      bytesSent: 0,
      dropped: false,
    };
    this.requests.push(record);
    return record;
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, file: string, record: ServedRequest): void {
    let bytes = readFileSync(join(this.root, file));
    if (this.faults.corrupt === file) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] = ((bytes[bytes.length >> 1] ?? 0) + 1) & 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = record.rangeStart;
    if (start >= bytes.length && bytes.length > 0) {
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` });
      res.end();
      return;
    }
    const body = bytes.subarray(start);
    record.status = range ? 206 : 200;
    res.writeHead(record.status, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      'accept-ranges': 'bytes',
      etag: `"${this.sibling(file).blobId}"`,
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    const drop = this.faults.dropOnce;
    if (drop && drop.path === file && !range && !this.droppedAlready) {
      this.droppedAlready = true;
      record.dropped = true;
      record.bytesSent = drop.afterBytes;
      // Flush the first bytes, then cut the connection as a broken network would.
      res.write(body.subarray(0, drop.afterBytes), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    record.bytesSent = body.length;
    res.end(body);
  }
}

export function fileSize(path: string): number {
  return statSync(path).size;
}
