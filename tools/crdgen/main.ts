import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { log } from '../../src/shared/log.js';
import { generate } from './generate.js';

/**
 * `npm run gen:crd`: regenerates the CRD (crds/, and each chart's crds/) and docs/api.md from the API
 * types. `--check` writes nothing and exits 1 when a committed file differs from what it would write.
 */
const repoRoot = resolve(import.meta.dirname, '../..');
const check = process.argv.includes('--check');
const logger = log.child({ component: 'crdgen' });

function main(): number {
  const stale: string[] = [];
  for (const file of generate(repoRoot)) {
    const target = join(repoRoot, file.path);
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === file.content) continue;
    stale.push(file.path);
    if (!check) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.content);
      logger.info({ path: file.path }, 'wrote generated file');
    }
  }
  if (check && stale.length > 0) {
    logger.error({ stale }, 'generated files are out of date; run `npm run gen:crd` and commit the result');
    return 1;
  }
  if (stale.length === 0) logger.info('generated files are up to date');
  return 0;
}

process.exitCode = main();
