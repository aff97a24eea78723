/**
 * One file from the hub into the model folder: resumed with an HTTP Range request after a dropped
 * connection (the bytes already on disk are kept), then checked against the hub's metadata — size, and
 * SHA-256 for LFS files or the git blob id for small ones — before it takes its final name. Written by
 * hand rather than through a download library because resuming, verifying and reporting each failure
 * as a condition reason are the whole job.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, truncate } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_FAILURE_REASONS, HubError, httpFailure } from './hub-error.js';
import { authHeaders, type FileDigest, type HubFile } from './repo-info.js';

export interface DownloadOptions {
  token?: string;
  /** Attempts after a dropped connection or a transient server error (each resumes where it stopped). */
  retries?: number;
  /** First back-off between attempts; doubles each time. */
  backoffMs?: number;
  /** Bytes of this file on disk so far, after every chunk. */
  onProgress?: (bytesOnDisk: number) => void;
  /** A dropped connection, before the next attempt resumes. */
  onResume?: (info: { attempt: number; resumeAt: number; cause: unknown }) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Bytes received over the network for this file (a resume does not fetch what was on disk). */
  bytesTransferred: number;
  /** Attempts that resumed a partial file. */
  resumes: number;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function digestOf(path: string, digest: FileDigest, size: number): Promise<string> {
  const hash = createHash(digest.kind === 'sha256' ? 'sha256' : 'sha1');
  // git's blob id: sha1 over "blob <size>\0" and the content.
  if (digest.kind === 'git-blob') hash.update(`blob ${size}\0`);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Transient: worth another attempt. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

class Dropped extends Error {}

/** One GET from `offset`; appends to `partial`, returns the bytes received. */
async function fetchFrom(
  url: string,
  partial: string,
  offset: number,
  file: HubFile,
  options: DownloadOptions,
  counted: { bytes: number },
): Promise<void> {
  const headers: Record<string, string> = { ...authHeaders(options.token) };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: options.signal });
  } catch (err) {
    throw new Dropped(`GET ${file.path} failed`, { cause: err });
  }
  if (res.status === 416 && offset >= file.size) return;
  if (!res.ok) {
    if (retryable(res.status)) throw new Dropped(`GET ${file.path}: HTTP ${res.status}`);
    throw httpFailure(res.status, `file ${file.path}`, url);
  }
  // A server that ignores Range sends the whole file: start over rather than append it twice.
  const append = offset > 0 && res.status === 206;
  if (!append && offset > 0) await truncate(partial, 0);
  if (!res.body) throw new Dropped(`GET ${file.path}: no body`);
  let onDisk = append ? offset : 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    counted.bytes += chunk.length;
    onDisk += chunk.length;
    options.onProgress?.(onDisk);
  });
  try {
    await pipeline(body, createWriteStream(partial, { flags: append ? 'a' : 'w' }));
  } catch (err) {
    throw new Dropped(`GET ${file.path}: the connection dropped after ${onDisk} of ${file.size} bytes`, {
      cause: err,
    });
  }
}

/**
 * Downloads `file` from `url` to `dest` unless `dest` is already there; `dest.partial` holds the bytes of
 * an unfinished download across attempts and across restarts of the init container.
 */
export async function downloadFile(
  url: string,
  file: HubFile,
  dest: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const partial = `${dest}.partial`;
  const retries = options.retries ?? 8;
  const counted = { bytes: 0 };
  let resumes = 0;
  let restartedOnce = false;
  for (let attempt = 0; ; attempt++) {
    const offset = await sizeOf(partial);
    if (offset > file.size) await truncate(partial, 0);
    else if (offset > 0 && attempt > 0) resumes++;
    try {
      if (offset < file.size || file.size === 0)
        await fetchFrom(url, partial, Math.min(offset, file.size), file, options, counted);
    } catch (err) {
      if (!(err instanceof Dropped) || attempt >= retries) {
        if (err instanceof Dropped) {
          throw new HubError(
            HUB_FAILURE_REASONS.unreachable,
            `${err.message}; gave up after ${attempt + 1} attempts (the partial file is kept and the next start resumes it)`,
            { cause: err },
          );
        }
        throw err;
      }
      const resumeAt = await sizeOf(partial);
      options.onResume?.({ attempt: attempt + 1, resumeAt, cause: err });
      await sleep((options.backoffMs ?? 500) * 2 ** Math.min(attempt, 6), undefined, {
        signal: options.signal,
      });
      continue;
    }
    const size = await sizeOf(partial);
    const actual = size === file.size ? await digestOf(partial, file.digest, size) : undefined;
    if (actual === file.digest.hex) {
      await rename(partial, dest);
      return { bytesTransferred: counted.bytes, resumes };
    }
    await rm(partial, { force: true });
    // One fresh download may cure a corrupted transfer; a second mismatch is the hub's file itself.
    if (!restartedOnce) {
      restartedOnce = true;
      continue;
    }
    throw new HubError(
      HUB_FAILURE_REASONS.checksumMismatch,
      size !== file.size
        ? `${file.path}: ${size} bytes arrived where the hub's metadata says ${file.size}; the file was deleted`
        : `${file.path}: ${file.digest.kind} ${actual} differs from the hub's ${file.digest.hex}; the file was deleted — the hub or a proxy serves other bytes than its metadata describes`,
    );
  }
}
