/**
 * `tessera fetch-model`: a Diffusers repository from a Hugging Face–compatible hub into a model folder,
 * as the init container of a group pod runs it. Files already fetched at the same digest are kept (the
 * folder is a node cache shared by every pod there), unfinished ones resume, and each failure carries a
 * reason (hub-error.ts) for the object's status.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Plan } from '../../shared/plan/index.js';
import { downloadFile } from './file-download.js';
import { componentFiles, isWeightFile, MODEL_INDEX, transformerShardsFor } from './file-selection.js';
import { lockFolder } from './folder-lock.js';
import { HUB_FAILURE_REASONS, HubError } from './hub-error.js';
import { fetchRepoInfo, type HubFile, type HubLocation, resolveUrl } from './repo-info.js';

/** Digests of the files in the folder, by path: what a later start may skip. */
const RECORD = '.tessera-fetch.json';

export interface FetchOptions {
  location: HubLocation;
  /** The model folder (TESSERA_MODEL_PATH's volume). */
  folder: string;
  /** With a plan, only this pod's share of the transformer's shards. */
  share?: { plan: Plan; podIndex: number };
  /** One line for a person per step and every few seconds of progress. */
  report: (line: string) => void;
  retries?: number;
  backoffMs?: number;
  progressEveryMs?: number;
}

export interface FetchSummary {
  commit: string;
  files: number;
  skipped: number;
  bytesTransferred: number;
  resumes: number;
  /** Repository files left out (other formats, other stages' shards). */
  leftOut: number;
}

type Record_ = Record<string, string>;

function readRecord(folder: string): Record_ {
  try {
    return JSON.parse(readFileSync(join(folder, RECORD), 'utf8')) as Record_;
  } catch {
    return {};
  }
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new HubError(HUB_FAILURE_REASONS.protocol, `${path} is not a JSON object`, { cause: err });
  }
}

export async function fetchModel(options: FetchOptions): Promise<FetchSummary> {
  const { location, folder, report } = options;
  const info = await fetchRepoInfo(location);
  report(`${location.repository}@${location.revision} is commit ${info.commit} (${info.files.length} files)`);
  await mkdir(folder, { recursive: true });
  const lock = await lockFolder(folder, {
    onWait: () => report('another pod on this node is downloading into the same cache; waiting for it'),
  });
  try {
    const record = readRecord(folder);
    const summary: FetchSummary = {
      commit: info.commit,
      files: 0,
      skipped: 0,
      bytesTransferred: 0,
      resumes: 0,
      leftOut: 0,
    };
    const fetchOne = async (file: HubFile, total: { done: number; size: number }) => {
      const dest = join(folder, file.path);
      if (record[file.path] === file.digest.hex && existsSync(dest)) {
        summary.skipped++;
        total.done += file.size;
        return;
      }
      await mkdir(dirname(dest), { recursive: true });
      const base = total.done;
      let last = 0;
      const every = options.progressEveryMs ?? 5000;
      const result = await downloadFile(resolveUrl(location, info.commit, file.path), file, dest, {
        ...(location.token ? { token: location.token } : {}),
        ...(options.retries !== undefined ? { retries: options.retries } : {}),
        ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
        onProgress: (onDisk) => {
          if (Date.now() - last < every) return;
          last = Date.now();
          const done = base + onDisk;
          report(
            `downloading ${file.path}: ${gib(done)} of ${gib(total.size)} (${Math.floor((100 * done) / Math.max(total.size, 1))}%)`,
          );
        },
        onResume: ({ attempt, resumeAt, cause }) =>
          report(
            `${file.path}: ${(cause as Error).message}; resuming at byte ${resumeAt} (attempt ${attempt + 1})`,
          ),
      });
      summary.files++;
      summary.bytesTransferred += result.bytesTransferred;
      summary.resumes += result.resumes;
      total.done += file.size;
      record[file.path] = file.digest.hex;
      await writeFile(join(folder, RECORD), JSON.stringify(record, null, 2));
    };

    const index = info.files.find((f) => f.path === MODEL_INDEX);
    if (!index) {
      throw new HubError(
        HUB_FAILURE_REASONS.notFound,
        `${location.repository}@${location.revision} has no ${MODEL_INDEX}: it is not a Diffusers repository`,
      );
    }
    const total = { done: 0, size: 0 };
    await fetchOne(index, total);
    const components = Object.keys(readJson(join(folder, MODEL_INDEX))).filter((k) => !k.startsWith('_'));
    let wanted = componentFiles(info.files, components).filter((f) => f.path !== MODEL_INDEX);
    const small = wanted.filter((f) => !isWeightFile(f));
    for (const f of small) await fetchOne(f, total);
    if (options.share) {
      const shards = transformerShardsFor(folder, options.share.plan, options.share.podIndex, (path) =>
        existsSync(path) ? ((readJson(path).weight_map ?? {}) as Record<string, string>) : {},
      );
      if (shards && shards.size > 0) {
        wanted = wanted.filter(
          (f) => !f.path.startsWith('transformer/') || !isWeightFile(f) || shards.has(f.path),
        );
      }
    }
    const weights = wanted.filter(isWeightFile);
    summary.leftOut = info.files.length - 1 - small.length - weights.length;
    total.size = total.done + weights.reduce((n, f) => n + f.size, 0);
    report(
      `${weights.length} weight file(s), ${gib(total.size - total.done)} to check or fetch; ${summary.leftOut} file(s) of the repository not needed here`,
    );
    for (const f of weights) await fetchOne(f, total);
    report(
      `done: ${summary.files} file(s) fetched (${gib(summary.bytesTransferred)} over the network, ${summary.resumes} resumed), ${summary.skipped} already in the cache`,
    );
    return summary;
  } finally {
    await lock.release();
  }
}
