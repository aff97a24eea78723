/**
 * Scaffolding for the server tests: a tiny plan, a fake executor the test steps by hand, request
 * builders, and HTTP helpers over 127.0.0.1.
 */
import { request as httpRequest } from 'node:http';
import { pino } from 'pino';
import {
  type F32Tensor,
  type GenerationExecutor,
  type GenerationRequest,
  type GenerationResult,
  GenerationServer,
  type ImageService,
  type ServingLimits,
  servingLimitsFromPlan,
} from '../../../src/runtime/serving/index.js';
import type { Plan } from '../../../src/shared/plan/index.js';

/** A 64×64 Flux-like plan: latents [B, 16, 8], prompt [B, 4, 8], pooled [B, 4]. */
export function tinyPlan(family: 'flux' | 'sd3', maxBatch = 4): Plan {
  return {
    schemaVersion: 1,
    model: {
      family,
      layers: 2,
      heads: 2,
      headDim: 4,
      patchSize: 2,
      vaeScaleFactor: 8,
      textTokens: 4,
      usesCfg: family === 'sd3',
      parameters: 1000,
    },
    request: { height: 64, width: 64, steps: 4, maxBatch, guidanceScale: family === 'sd3' ? 7 : 3.5 },
    degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 1 },
    gpusPerGroup: 1,
    podsPerGroup: 1,
    gpusPerPod: 1,
    pipeline: { patches: 1, warmupSteps: 0 },
    ranks: [{ rank: 0, pod: 0, localRank: 0 }],
    predicted: { stepSeconds: 0.1, totalSeconds: 0.4, memoryBytesPerGpu: 1 },
    reason: 'test',
  };
}

export const TINY_DIMS = { inChannels: 8, jointAttentionDim: 8, pooledProjectionDim: 4 };

export function tinyLimits(family: 'flux' | 'sd3' = 'flux', maxBatch = 4): ServingLimits {
  return servingLimitsFromPlan(tinyPlan(family, maxBatch), TINY_DIMS);
}

interface PendingRun {
  batch: readonly GenerationRequest[];
  signal: AbortSignal;
  resolve(results: GenerationResult[]): void;
  reject(err: unknown): void;
}

/**
 * Holds every run until the test finishes it, so tests decide exactly what is queued while a batch
 * runs. The result doubles each request's latents, so answers can be checked against inputs.
 */
export class SteppedExecutor implements GenerationExecutor {
  readonly runs: PendingRun[] = [];
  active = 0;
  maxActive = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly maxBatch = 4) {}

  run(batch: readonly GenerationRequest[], signal: AbortSignal): Promise<GenerationResult[]> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise<GenerationResult[]>((resolve, reject) => {
      this.runs.push({
        batch,
        signal,
        resolve: (r) => {
          this.active -= 1;
          resolve(r);
        },
        reject: (e) => {
          this.active -= 1;
          reject(e);
        },
      });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolves once `count` runs have started (bounded by the test timeout). */
  async started(count: number): Promise<PendingRun> {
    while (this.runs.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.runs[count - 1] as PendingRun;
  }

  static doubled(batch: readonly GenerationRequest[]): GenerationResult[] {
    return batch.map((req) => {
      const latents = req.tensors.get('latents') as F32Tensor;
      return { latents: { shape: latents.shape, data: latents.data.map((v) => v * 2) } };
    });
  }

  finish(run: PendingRun): void {
    run.resolve(SteppedExecutor.doubled(run.batch));
  }
}

/** Answers at once (doubling the latents). */
export class InstantExecutor implements GenerationExecutor {
  readonly batches: (readonly GenerationRequest[])[] = [];
  constructor(readonly maxBatch = 4) {}
  async run(batch: readonly GenerationRequest[]): Promise<GenerationResult[]> {
    this.batches.push(batch);
    return SteppedExecutor.doubled(batch);
  }
}

export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Started {
  server: GenerationServer;
  base: string;
  close(): Promise<void>;
}

/** The error body of a refusal. */
export function errorOf(json: Record<string, unknown>): {
  code: string;
  field?: string;
  fix?: string;
  message: string;
} {
  return json.error as { code: string; field?: string; fix?: string; message: string };
}

export async function startServer(
  executor: GenerationExecutor,
  options: {
    queueSize?: number;
    authToken?: string;
    limits?: ServingLimits;
    started?: boolean;
    images?: ImageService;
  } = {},
): Promise<Started> {
  const server = new GenerationServer({
    executor,
    limits: options.limits ?? tinyLimits('flux', executor.maxBatch),
    queueSize: options.queueSize ?? 8,
    authToken: options.authToken,
    logger: quietLogger,
    ...(options.images ? { images: options.images } : {}),
  });
  const address = await server.listen(0, '127.0.0.1');
  if (options.started ?? true) server.markStarted();
  return { server, base: `http://127.0.0.1:${address.port}`, close: () => server.shutdown() };
}

export function tensor(shape: number[], fill: (i: number) => number = (i) => i / 10) {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: count }, (_, i) => fill(i));
  return { dtype: 'f32', shape, data: Buffer.from(data.buffer).toString('base64') };
}

/** A valid Flux request for tinyLimits with `batch` samples; `mark` makes its latents distinct. */
export function fluxBody(batch = 1, mark = 0, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    latents: tensor([batch, 16, 8], (i) => mark + i / 1000),
    promptEmbeds: tensor([batch, 4, 8]),
    pooledPromptEmbeds: tensor([batch, 4]),
    ...extra,
  };
}

export function decodeF32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export async function postJson(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${base}/v1/denoise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? {} : JSON.parse(text) };
}

export async function getJson(
  base: string,
  path: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function metricsText(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  return res.text();
}

/** The value of one sample line (`name{labels} value`), 0 when absent. */
export function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Polls `check` every 5 ms, up to 400 times (2 s), so waits are bounded. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Sends a request over a raw connection that the test can drop before the answer comes (fetch cannot
 * abort a request body it has already sent as cleanly).
 */
export function openRequest(base: string, body: unknown): { drop(): void; answered: Promise<number> } {
  const text = JSON.stringify(body);
  const req = httpRequest(`${base}/v1/denoise`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  answered.catch(() => undefined);
  req.end(text);
  return { drop: () => req.destroy(), answered };
}
