/**
 * What the hub says a repository revision holds, in Hugging Face's API layout:
 * `GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true` answers the resolved commit (`sha`)
 * and `siblings[]` with `rfilename`, `size`, `blobId` (the git blob id) and, for LFS files,
 * `lfs {sha256, size}`. Files are fetched from `{endpoint}/{repo}/resolve/{commit}/{path}`.
 */
import { HUB_FAILURE_REASONS, HubError, httpFailure } from './hub-error.js';

export interface HubLocation {
  /** Base URL, e.g. https://huggingface.co. */
  endpoint: string;
  /** `owner/name`. */
  repository: string;
  /** Branch, tag or commit. */
  revision: string;
  /** Bearer token, if any. */
  token?: string;
}

/** How a downloaded file is checked. */
export type FileDigest = { kind: 'sha256'; hex: string } | { kind: 'git-blob'; hex: string };

export interface HubFile {
  /** Path inside the repository, `/`-separated. */
  path: string;
  size: number;
  digest: FileDigest;
}

export interface RepoInfo {
  /** The commit the revision resolved to; files are fetched at this commit, so a moving branch cannot mix two. */
  commit: string;
  files: HubFile[];
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function baseUrl(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

function repoPath(repository: string): string {
  return repository.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(location: HubLocation, commit: string, path: string): string {
  const file = path.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl(location.endpoint)}/${repoPath(location.repository)}/resolve/${encodeURIComponent(commit)}/${file}`;
}

/** A relative path that stays inside the model folder. */
function safePath(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    path !== '' &&
    !path.startsWith('/') &&
    !path.split('/').some((part) => part === '' || part === '.' || part === '..')
  );
}

function parseSibling(raw: unknown, where: string): HubFile {
  const s = raw as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: unknown };
  if (!safePath(s.rfilename)) {
    throw new HubError(HUB_FAILURE_REASONS.protocol, `${where}: a sibling has no usable rfilename`);
  }
  const lfs = s.lfs as { sha256?: unknown; size?: unknown } | undefined | null;
  if (
    lfs &&
    typeof lfs.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(lfs.sha256) &&
    Number.isSafeInteger(lfs.size)
  ) {
    return { path: s.rfilename, size: lfs.size as number, digest: { kind: 'sha256', hex: lfs.sha256 } };
  }
  if (typeof s.blobId === 'string' && /^[0-9a-f]{40}$/.test(s.blobId) && Number.isSafeInteger(s.size)) {
    return { path: s.rfilename, size: s.size as number, digest: { kind: 'git-blob', hex: s.blobId } };
  }
  throw new HubError(
    HUB_FAILURE_REASONS.protocol,
    `${where}: ${s.rfilename} has neither lfs {sha256, size} nor blobId and size, so it cannot be checked`,
  );
}

export async function fetchRepoInfo(location: HubLocation, signal?: AbortSignal): Promise<RepoInfo> {
  const url = `${baseUrl(location.endpoint)}/api/models/${repoPath(location.repository)}/revision/${encodeURIComponent(location.revision)}?blobs=true`;
  const what = `repository ${location.repository}@${location.revision}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders(location.token), signal });
  } catch (err) {
    throw new HubError(
      HUB_FAILURE_REASONS.unreachable,
      `${what}: cannot reach ${baseUrl(location.endpoint)} — check spec.model.source.hub.endpoint and the pod's network`,
      { cause: err },
    );
  }
  if (!res.ok) throw httpFailure(res.status, what, location.repository);
  let body: { sha?: unknown; siblings?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new HubError(HUB_FAILURE_REASONS.protocol, `${what}: the metadata is not JSON`, { cause: err });
  }
  if (typeof body.sha !== 'string' || !/^[0-9a-f]{40}$/.test(body.sha) || !Array.isArray(body.siblings)) {
    throw new HubError(HUB_FAILURE_REASONS.protocol, `${what}: the metadata has no commit sha or siblings`);
  }
  return { commit: body.sha, files: body.siblings.map((s) => parseSibling(s, what)) };
}
