/** Reading bounded bodies and writing JSON answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from './request-error.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: RequestError): void {
  sendJson(res, error.status, error.body(), error.headers);
}

function tooLarge(limit: number, got: string): RequestError {
  return new RequestError(413, 'body_too_large', `the body is ${got}; the limit is ${limit} bytes`, {
    fix: "send at most the plan's maxBatch samples at its image size",
    headers: { connection: 'close' },
  });
}

/**
 * The whole body, refusing with 413 as soon as it would exceed `limit` (from Content-Length when given,
 * else while streaming), so an oversized upload never sits in memory. `accepted` runs once the declared
 * size has passed, before anything is read (the moment to send 100 Continue).
 */
export function readBody(req: IncomingMessage, limit: number, accepted?: () => void): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    return Promise.reject(tooLarge(limit, `${declared} bytes`));
  accepted?.();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(tooLarge(limit, `over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', (cause) =>
      reject(
        new RequestError(400, 'body_read_failed', `reading the body failed: ${cause.message}`, { cause }),
      ),
    );
  });
}
