/**
 * One downloader per model folder at a time: every pod on a node shares the cache, and two writers of
 * one `.partial` file would corrupt it. The lock is a directory (mkdir is atomic) whose mtime the holder
 * refreshes; a lock nobody refreshed for `staleMs` belonged to a pod that died and is taken over.
 */
import { mkdir, rm, stat, utimes } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FolderLock {
  release(): Promise<void>;
}

export async function lockFolder(
  folder: string,
  options: { staleMs?: number; pollMs?: number; onWait?: () => void } = {},
): Promise<FolderLock> {
  const path = `${folder}/.tessera-fetch.lock`;
  const staleMs = options.staleMs ?? 30_000;
  let waited = false;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > staleMs) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!waited) options.onWait?.();
    waited = true;
    await sleep(options.pollMs ?? 1000);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, staleMs / 3);
  heartbeat.unref();
  return {
    async release() {
      clearInterval(heartbeat);
      await rm(path, { recursive: true, force: true });
    },
  };
}
