/**
 * The config's block counts against the block indices the weights name. It needs only the tensor names
 * (the shard index, or one header), so it runs before any per-block work: a config that claims 10,000
 * blocks over a 57-block checkpoint fails here, not after building 10,000 blocks' worth of names.
 */
import { CheckpointMismatchError } from './check.js';

/** One kind of block: its name prefix in the weights, the config field that counts it, and the count. */
export interface BlockCount {
  prefix: string;
  field: string;
  count: number;
}

export interface BlockCountLabels {
  /** The config.json path, for messages. */
  configFile: string;
  /** The weights (single file or index), for messages. */
  weightsLabel: string;
}

/**
 * Highest block index + 1 per block prefix found in the names. The prefix is everything before the first
 * numeric segment, so dotted prefixes work too ("encoder.block", "decoder.up_blocks").
 */
function blockCountsInWeights(names: Iterable<string>, prefixes: string[]): Map<string, number> {
  const counts = new Map<string, number>(prefixes.map((p) => [p, 0]));
  for (const name of names) {
    const m = /^([a-z_.]+?)\.(\d+)\./.exec(name);
    if (m?.[1] && m[2] && counts.has(m[1])) {
      counts.set(m[1], Math.max(counts.get(m[1]) ?? 0, Number(m[2]) + 1));
    }
  }
  return counts;
}

export function checkBlockCounts(
  expected: readonly BlockCount[],
  names: Iterable<string>,
  labels: BlockCountLabels,
): void {
  const inWeights = blockCountsInWeights(
    names,
    expected.map((b) => b.prefix),
  );
  for (const { prefix, field, count } of expected) {
    const found = inWeights.get(prefix) ?? 0;
    if (found !== count) {
      throw new CheckpointMismatchError(
        `${labels.configFile} says ${field} = ${count}, but ${labels.weightsLabel} has ${found} ` +
          `${prefix}.* blocks: the config does not match the weights (fix ${field} or use the matching weights)`,
        null,
        field,
      );
    }
  }
}
