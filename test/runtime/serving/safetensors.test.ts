import { afterEach, describe, expect, it } from 'vitest';
import { InstantExecutor, type Started, startServer } from './harness.js';

let current: Started | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** Builds a safetensors file the way the format describes it, independently of the server's encoder. */
function safetensors(
  tensors: Record<string, { shape: number[]; values: Float32Array; dtype?: string }>,
): Buffer {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    header[name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...parts]);
}

function values(count: number, start = 0): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => start + i / 100);
}

const fluxInputs = () => ({
  latents: { shape: [1, 16, 8], values: values(128, 3) },
  prompt_embeds: { shape: [1, 4, 8], values: values(32) },
  pooled_prompt_embeds: { shape: [1, 4], values: values(4) },
});

async function post(base: string, body: Buffer, query = ''): Promise<Response> {
  return fetch(`${base}/v1/denoise${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
}

function readLatents(file: Buffer): { shape: number[]; first: number; metadata: Record<string, string> } {
  const length = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + length).toString()) as Record<string, unknown>;
  const entry = header.latents as { shape: number[]; data_offsets: [number, number] };
  const data = file.subarray(8 + length + entry.data_offsets[0], 8 + length + entry.data_offsets[1]);
  expect((8 + length) % 8).toBe(0);
  return {
    shape: entry.shape,
    first: data.readFloatLE(0),
    metadata: header.__metadata__ as Record<string, string>,
  };
}

describe('safetensors bodies', () => {
  it('takes the tensor names of tessera denoise --inputs and answers with a safetensors file', async () => {
    const executor = new InstantExecutor();
    current = await startServer(executor);
    const res = await post(
      current.base,
      safetensors({ ...fluxInputs(), img_ids: { shape: [16, 3], values: values(48) } }),
      '?steps=6&guidanceScale=2.5&seed=11',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(res.headers.get('x-tessera-run-ms'))).toBeGreaterThanOrEqual(0);
    const out = readLatents(Buffer.from(await res.arrayBuffer()));
    expect(out.shape).toEqual([1, 16, 8]);
    expect(out.first).toBeCloseTo(6, 5);
    expect(out.metadata.id).toBe(res.headers.get('x-request-id'));
    const request = executor.batches[0]?.[0];
    expect([request?.steps, request?.guidanceScale, request?.seed]).toEqual([6, 2.5, 11]);
    expect([...(request?.tensors.keys() ?? [])].sort()).toEqual([
      'latents',
      'pooled_prompt_embeds',
      'prompt_embeds',
    ]);
  });

  it.each([
    ['unknown tensor', { ...fluxInputs(), mask: { shape: [1], values: values(1) } }, '', 'mask'],
    [
      'missing tensor',
      { latents: fluxInputs().latents, prompt_embeds: fluxInputs().prompt_embeds },
      '',
      'pooled_prompt_embeds',
    ],
    [
      'bf16',
      { ...fluxInputs(), latents: { shape: [1, 16, 4], values: values(64), dtype: 'BF16' } },
      '',
      'latents.dtype',
    ],
    [
      'wrong shape',
      { ...fluxInputs(), latents: { shape: [1, 8, 16], values: values(128) } },
      '',
      'latents.shape',
    ],
    ['bad steps', fluxInputs(), '?steps=many', 'query.steps'],
    ['unknown parameter', fluxInputs(), '?stepz=4', 'query.stepz'],
    // Number() would read these as 16, 10, 4, 4, 0 and 7: only plain decimal digits are accepted.
    ['hexadecimal steps', fluxInputs(), '?steps=0x10', 'query.steps'],
    ['steps in exponent notation', fluxInputs(), '?steps=1e1', 'query.steps'],
    ['signed steps', fluxInputs(), '?steps=+4', 'query.steps'],
    ['steps with spaces', fluxInputs(), '?steps=%204', 'query.steps'],
    ['binary seed', fluxInputs(), '?seed=0b0', 'query.seed'],
    ['octal timeoutMs', fluxInputs(), '?timeoutMs=0o7', 'query.timeoutMs'],
    ['guidance in exponent notation', fluxInputs(), '?guidanceScale=3.5e0', 'query.guidanceScale'],
    ['hexadecimal guidance', fluxInputs(), '?guidanceScale=0x3', 'query.guidanceScale'],
    ['repeated steps', fluxInputs(), '?steps=4&steps=30', 'query.steps'],
    ['repeated guidance', fluxInputs(), '?guidanceScale=2&guidanceScale=2', 'query.guidanceScale'],
  ])('refuses %s naming the field', async (_name, tensors, query, field) => {
    current = await startServer(new InstantExecutor());
    const res = await post(current.base, safetensors(tensors), query);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
  });

  it('says why a repeated or non-decimal parameter is refused', async () => {
    current = await startServer(new InstantExecutor());
    const repeated = await post(current.base, safetensors(fluxInputs()), '?steps=4&steps=30');
    const error = ((await repeated.json()) as { error: { message: string; fix: string } }).error;
    expect(error.message).toBe('query.steps: is given 2 times');
    expect(error.fix).toBe('give each parameter once');
    const hex = await post(current.base, safetensors(fluxInputs()), '?steps=0x10');
    const hexError = ((await hex.json()) as { error: { message: string } }).error;
    expect(hexError.message).toBe('query.steps: is "0x10"');
  });

  it('refuses a truncated file and offsets outside the data', async () => {
    current = await startServer(new InstantExecutor());
    const whole = safetensors(fluxInputs());
    const truncated = await post(current.base, whole.subarray(0, 20));
    expect(truncated.status).toBe(400);
    expect(((await truncated.json()) as { error: { code: string } }).error.code).toBe('invalid_safetensors');
    const cut = await post(current.base, whole.subarray(0, whole.length - 4));
    expect(cut.status).toBe(400);
    expect(((await cut.json()) as { error: { message: string } }).error.message).toContain('data_offsets');
  });
});
