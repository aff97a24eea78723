/**
 * How joint text tokens travel with sequence parallelism (xdit.md §3.4): sharded like the image when the
 * text length divides the sequence-parallel degree (and no pipeline splits the image into patches), else
 * replicated on every rank, with the text K/V joined once in the ring.
 */
export type TextSharding = 'split' | 'replicated';

export function textShardingFor(textTokens: number, spDegree: number, pipefusion: number): TextSharding {
  return pipefusion === 1 && textTokens % spDegree === 0 ? 'split' : 'replicated';
}

/** [start, end) of the equal shard `index` of `length` items cut into `parts`. */
export function shardRange(length: number, parts: number, index: number, what: string): [number, number] {
  if (length % parts !== 0) {
    throw new RangeError(`${what}: ${length} tokens do not divide into ${parts} sequence-parallel shards`);
  }
  const size = length / parts;
  return [index * size, (index + 1) * size];
}
