/**
 * `POST /v1/images/generations` on real serving groups: the operator's pod template run as local
 * processes (CPU, gloo) over the PixArt-Σ pipeline fixture. The leader encodes the prompt, the ranks
 * denoise together, and each data-parallel replica decodes its own share of the images patch-parallel
 * over its ranks (plan.pipeline.vaeDecode.ranks = the replica's ranks).
 * - dp1 × u2 (2 pods × 1 rank): the PNG equals the Diffusers PixArtSigmaPipeline's image for the same
 *   prompt, negative prompt, steps, guidance and seed within one level on ≥ 99.9 % of the values; the
 *   warm-up ran the images path before /readyz turned 200; both ranks decoded.
 * - dp2 × u2 (2 pods × 2 ranks) and dp2 (2 pods × 1 rank): two images of one seed come back with the
 *   same PNG bytes as from a group of one replica with the same ranks per replica, and each replica's
 *   ranks logged decoding one of them (the leader decodes no other replica's image).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../../src/runtime/pipeline/image/png.js';
import type { Degrees, ModelFacts } from '../../../src/shared/plan/index.js';
import { pixelAgreement } from '../../support/image-compare.js';
import { pipelineCases, pipelineFixture } from '../../support/pipeline-fixtures.js';
import { SafetensorsLite } from '../../support/safetensors-lite.js';
import { freePort } from '../parallel/harness.js';
import { startPodGroup } from '../parallel/pod-group.js';
import { killGroup, type ServingGroup, waitAllReady } from './serving-group.js';

const CASE = pipelineCases().find((c) => c.pipeline === 'pixart-sigma' && c.case === 'cat-64');
if (!CASE) throw new Error('the pixart-sigma cat-64 pipeline case is missing from pipelines.json');

/** The PixArt-Σ fixture's transformer (transformer/config.json); cross-attention joins no text tokens. */
const PIXART_FIXTURE_FACTS: ModelFacts = {
  family: 'pixart',
  layers: 4,
  heads: 4,
  headDim: 8,
  patchSize: 2,
  vaeScaleFactor: 8,
  textTokens: 0,
  usesCfg: true,
  parameters: 0,
};

const DECODED = "decoded its band of its replica's images";

/** A serving group of the PixArt-Σ pipeline with the VAE on every rank of each replica. */
async function startImagesGroup(degrees: Degrees, pods: number): Promise<ServingGroup> {
  const c = CASE as NonNullable<typeof CASE>;
  const ports = await Promise.all(Array.from({ length: pods }, () => freePort()));
  const replicaRanks = degrees.cfg * degrees.pipefusion * degrees.ring * degrees.ulysses;
  const { pods: processes } = await startPodGroup({
    degrees,
    pipeline: { patches: 1, warmupSteps: 0, vaeDecode: { ranks: replicaRanks } },
    model: PIXART_FIXTURE_FACTS,
    request: {
      height: c.height,
      width: c.width,
      steps: c.steps,
      maxBatch: 2,
      guidanceScale: c.guidance_scale,
    },
    modelPath: pipelineFixture('pipelines/pixart-sigma'),
    args: [],
    dir,
    pods,
    podEnv: (pod) => ({ TESSERA_SERVING_PORT: String(ports[pod]) }),
  });
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  group = { pods: processes, bases, leader: bases[0] as string };
  await waitAllReady(group, 90_000);
  return group;
}

/** The case's request for `n` images; the PNGs as bytes. */
async function generate(g: ServingGroup, n: number): Promise<Buffer[]> {
  const c = CASE as NonNullable<typeof CASE>;
  const res = await fetch(`${g.leader}/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      prompt: c.prompt,
      negative_prompt: c.negative_prompt,
      n,
      size: `${c.width}x${c.height}`,
      response_format: 'b64_json',
      seed: c.seed,
      steps: c.steps,
      guidance_scale: c.guidance_scale,
    }),
  });
  const json = (await res.json()) as { created?: number; data?: Array<{ b64_json: string }> };
  expect(res.status, JSON.stringify(json).slice(0, 500)).toBe(200);
  expect(typeof json.created).toBe('number');
  expect(json.data).toHaveLength(n);
  return (json.data ?? []).map((d) => Buffer.from(d.b64_json, 'base64'));
}

interface DecodeLine {
  rank: number;
  replica: number;
  images: number;
  requestId: string;
}

/** Every rank's decode log lines, from the pods' output (JSON lines, one per log call). */
function decodeLines(g: ServingGroup): DecodeLine[] {
  const out: DecodeLine[] = [];
  for (const pod of g.pods) {
    for (const line of pod.output().split('\n')) {
      if (!line.includes(DECODED)) continue;
      const start = line.indexOf('{');
      if (start < 0) continue;
      try {
        out.push(JSON.parse(line.slice(start)) as DecodeLine);
      } catch {
        // A line cut by another process's write: the wait below counts complete lines only.
      }
    }
  }
  return out;
}

/** The decode lines of requests (not the warm-up), once `count` of them are in the logs. */
async function requestDecodes(g: ServingGroup, count: number): Promise<DecodeLine[]> {
  const lines = () => decodeLines(g).filter((l) => l.requestId !== 'warm-up');
  const until = Date.now() + 10_000;
  while (lines().length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  return lines();
}

/** Who decoded how many images, by rank (a rank's lines in log order). */
const byRank = (lines: DecodeLine[]) =>
  lines.map(({ rank, replica, images }) => ({ rank, replica, images })).sort((a, b) => a.rank - b.rank);

const DP1_U2: Degrees = { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 2 };
const DP2_U2: Degrees = { ...DP1_U2, dataParallel: 2 };
const DP1: Degrees = { ...DP1_U2, ulysses: 1 };
const DP2: Degrees = { ...DP1, dataParallel: 2 };

let dir = '';
let group: ServingGroup | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-images-group-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  killGroup(group);
  group = undefined;
});

describe('POST /v1/images/generations on a serving group', () => {
  /** The two images of dp1 × u2, for the dp2 × u2 group to match. */
  let u2Images: Buffer[] = [];

  it("dp1 × u2: the Diffusers pipeline's image, the VAE decoded over both ranks", async () => {
    const c = CASE;
    const g = await startImagesGroup(DP1_U2, 2);
    expect(g.pods[0]?.output() ?? '', 'the warm-up ran the images path').toMatch(/"images":true/);
    const [png] = await generate(g, 1);
    const image = decode(png as Buffer);
    expect([image.width, image.height, image.channels]).toEqual([c.width, c.height, 3]);
    expect(readPngText(png as Buffer)).toMatchObject({ prompt: c.prompt, seed: String(c.seed) });
    const golden = new SafetensorsLite(pipelineFixture(`pipelines/${c.file}`)).f32('image');
    const agreement = pixelAgreement(image.data, golden);
    process.stdout.write(`images over a 2-rank group (u2, VAE on 2 ranks): ${JSON.stringify(agreement)}\n`);
    expect(agreement.share, JSON.stringify(agreement)).toBeGreaterThanOrEqual(0.999);
    u2Images = await generate(g, 2);
    // Both ranks decoded a band of each request's images: 1, then 2.
    expect(byRank(await requestDecodes(g, 4))).toEqual([
      { rank: 0, replica: 0, images: 1 },
      { rank: 0, replica: 0, images: 2 },
      { rank: 1, replica: 0, images: 1 },
      { rank: 1, replica: 0, images: 2 },
    ]);
  }, 180_000);

  it('dp2 × u2: each replica decodes its own image over its 2 ranks, the same PNGs as dp1 × u2', async () => {
    expect(u2Images, 'the dp1 × u2 case ran first').toHaveLength(2);
    const g = await startImagesGroup(DP2_U2, 2);
    const pngs = await generate(g, 2);
    expect(pngs.map((p, i) => p.equals(u2Images[i] as Buffer))).toEqual([true, true]);
    expect(byRank(await requestDecodes(g, 4))).toEqual([
      { rank: 0, replica: 0, images: 1 },
      { rank: 1, replica: 0, images: 1 },
      { rank: 2, replica: 1, images: 1 },
      { rank: 3, replica: 1, images: 1 },
    ]);
  }, 180_000);

  it('dp2: each replica decodes its own image alone, the same PNGs as one rank', async () => {
    const one = await startImagesGroup(DP1, 1);
    const expected = await generate(one, 2);
    expect(byRank(await requestDecodes(one, 1))).toEqual([{ rank: 0, replica: 0, images: 2 }]);
    killGroup(one);
    group = undefined;
    const g = await startImagesGroup(DP2, 2);
    const pngs = await generate(g, 2);
    expect(pngs.map((p, i) => p.equals(expected[i] as Buffer))).toEqual([true, true]);
    expect(byRank(await requestDecodes(g, 2))).toEqual([
      { rank: 0, replica: 0, images: 1 },
      { rank: 1, replica: 1, images: 1 },
    ]);
  }, 180_000);
});
