/**
 * `POST /v1/images/generations` on a real serving group: the operator's pod template for 2 pods × 1 rank
 * (Ulysses 2 across the pods, CPU, gloo) run as local processes over the PixArt-Σ pipeline fixture. The
 * leader encodes the prompt, the two ranks denoise together, and both decode the latents patch-parallel
 * (plan.pipeline.vaeDecode.ranks = 2, the whole group); the PNG it answers equals the Diffusers
 * PixArtSigmaPipeline's image for the same prompt, negative prompt, steps, guidance and seed within one
 * level on ≥ 99.9 % of the values. The group's warm-up ran the images path before /readyz turned 200.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPngText } from '../../../src/runtime/pipeline/image/png.js';
import type { ModelFacts } from '../../../src/shared/plan/index.js';
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

describe('a 2-rank PixArt-Σ serving group answers POST /v1/images/generations', () => {
  it("with the Diffusers pipeline's image, the VAE decoded over both ranks", async () => {
    const c = CASE;
    const ports = [await freePort(), await freePort()];
    const { pods } = await startPodGroup({
      degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 2 },
      pipeline: { patches: 1, warmupSteps: 0, vaeDecode: { ranks: 2 } },
      model: PIXART_FIXTURE_FACTS,
      request: {
        height: c.height,
        width: c.width,
        steps: c.steps,
        maxBatch: 1,
        guidanceScale: c.guidance_scale,
      },
      modelPath: pipelineFixture('pipelines/pixart-sigma'),
      args: [],
      dir,
      podEnv: (pod) => ({ TESSERA_SERVING_PORT: String(ports[pod]) }),
    });
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);
    group = { pods, bases, leader: bases[0] as string };
    await waitAllReady(group, 90_000);
    const leaderLog = pods[0]?.output() ?? '';
    expect(leaderLog, 'the warm-up ran the images path').toMatch(/"images":true/);

    const res = await fetch(`${group.leader}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        prompt: c.prompt,
        negative_prompt: c.negative_prompt,
        n: 1,
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
    expect(json.data).toHaveLength(1);
    const png = Buffer.from(json.data?.[0]?.b64_json ?? '', 'base64');
    const image = decode(png);
    expect([image.width, image.height, image.channels]).toEqual([c.width, c.height, 3]);
    expect(readPngText(png)).toMatchObject({ prompt: c.prompt, seed: String(c.seed) });
    const golden = new SafetensorsLite(pipelineFixture(`pipelines/${c.file}`)).f32('image');
    const agreement = pixelAgreement(image.data, golden);
    process.stdout.write(`images over a 2-rank group (u2, VAE on 2 ranks): ${JSON.stringify(agreement)}\n`);
    expect(agreement.share, JSON.stringify(agreement)).toBeGreaterThanOrEqual(0.999);
    // The follower took part in both decodes (the warm-up's and the request's).
    const decodes = () => (pods[1]?.output() ?? '').split('decoded its band of the images').length - 1;
    const until = Date.now() + 10_000;
    while (decodes() < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(decodes()).toBe(2);
  }, 180_000);
});
