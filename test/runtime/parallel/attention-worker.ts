/**
 * One rank of the raw-attention test: `node --import tsx attention-worker.ts <case-json> <rank> <port>`.
 * Builds the same seeded q, k, v on every rank, keeps this rank's token shard (text sharded or
 * replicated as the parallel runtime does), runs USP attention over real gloo communicators and prints
 * its output shard on a RESULT line.
 */

import type { Tensor } from '../../../src/runtime/native/index.js';
import { runProgram, type SpLayout } from '../../../src/runtime/parallel/comm-steps.js';
import { textShardingFor } from '../../../src/runtime/parallel/joint-text.js';
import { shardJoint } from '../../../src/runtime/parallel/sequence-shard.js';
import { uspAttention } from '../../../src/runtime/parallel/usp-attention.js';
import { joinGroup } from '../../../src/runtime/rendezvous/group.js';
import { log } from '../../../src/shared/log.js';
import type { AttentionCase } from './attention-case.js';
import { caseTensors } from './attention-case.js';

const [caseJson = '{}', rankArg = '0', portArg = '0'] = process.argv.slice(2);
const c = JSON.parse(caseJson) as AttentionCase;
const rank = Number(rankArg);
const degrees = { dataParallel: 1, cfg: 1, pipefusion: 1, ring: c.ring, ulysses: c.ulysses };
const group = await joinGroup({
  host: '127.0.0.1',
  port: Number(portArg),
  rank,
  degrees,
  backend: 'gloo',
  timeoutMs: 20_000,
  logger: log,
});
const layout: SpLayout = {
  ulysses: { size: c.ulysses, rank: group.coords.ulysses },
  ring: { size: c.ring, rank: group.coords.ring },
};
const sp = c.ulysses * c.ring;
const spRank = group.coords.ulysses + c.ulysses * group.coords.ring;
const sharding = textShardingFor(c.textTokens, sp, 1);
const { q, k, v } = caseTensors(c);
const site = { block: 0, kind: 'joint' as const, textTokens: c.textTokens, textPosition: c.textPosition };
const local = (x: Tensor) => shardJoint(x, site, sharding, sp, spRank);
const ql = local(q);
const kl = local(k);
const vl = local(v);
const localSite = { ...site, textTokens: sharding === 'split' ? c.textTokens / sp : c.textTokens };
const out = await runProgram(uspAttention(ql.tensor, kl.tensor, vl.tensor, localSite, layout, sharding), {
  ulysses: group.axes.ulysses,
  ring: group.axes.ring,
});
process.stdout.write(
  `RESULT ${JSON.stringify({ spRank, sharding, shape: out.shape, values: Array.from(out.toFloat32Array()) })}\n`,
);
await group.close();
process.exit(0);
