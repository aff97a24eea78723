/** The leader's broadcast header: what goes in comes out, and what cannot travel is refused up front. */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../../src/runtime/native/index.js';
import {
  decodeHeader,
  encodeHeader,
  GroupMessageError,
  HEADER_BYTES,
  inputsFromTensors,
  inputTensors,
  type RunMessage,
} from '../../../src/runtime/serve-loop/group-message.js';

const run: RunMessage = {
  kind: 'run',
  family: 'sd3',
  requestId: 'run-7',
  steps: 28,
  guidanceScale: 4.5,
  seeds: [3, null],
  tensors: [{ field: 'latents', shape: [2, 16, 8, 8] }],
};

describe('group message headers', () => {
  it('round-trips run, heartbeat and shutdown in a fixed-size buffer', () => {
    for (const message of [run, { kind: 'heartbeat' } as const, { kind: 'shutdown' } as const]) {
      const buf = encodeHeader(message);
      expect(buf.length).toBe(HEADER_BYTES);
      expect(decodeHeader(buf)).toEqual(message);
    }
  });

  it('refuses a header too large for the buffer and a corrupt one', () => {
    const huge = { ...run, requestId: 'x'.repeat(HEADER_BYTES) };
    expect(() => encodeHeader(huge)).toThrow(GroupMessageError);
    const corrupt = encodeHeader(run);
    corrupt[0] = 0xff;
    corrupt[3] = 0xff;
    expect(() => decodeHeader(corrupt)).toThrow(/corrupt/);
    const bad = new TextEncoder().encode(
      JSON.stringify({ ...run, tensors: [{ field: 'noise', shape: [1] }] }),
    );
    const buf = new Uint8Array(HEADER_BYTES);
    new DataView(buf.buffer).setUint32(0, bad.length, true);
    buf.set(bad, 4);
    expect(() => decodeHeader(buf)).toThrow(/unknown header/);
  });

  it('sends only the tensors a batch has, per sample and shared, and rebuilds the same inputs', () => {
    const t = (n: number) => Tensor.fromArray(new Float32Array(n).fill(n), [1, n]);
    const inputs = {
      family: 'flux' as const,
      latents: t(4),
      samples: { promptEmbeds: t(3), pooledPromptEmbeds: t(2) },
      shared: { imgIds: t(5) },
    };
    const fields = inputTensors(inputs).map(([field]) => field);
    expect(fields).toEqual([
      'latents',
      'samples.promptEmbeds',
      'samples.pooledPromptEmbeds',
      'shared.imgIds',
    ]);
    const rebuilt = inputsFromTensors('flux', new Map(inputTensors(inputs)));
    expect(rebuilt).toEqual(inputs);
    expect(() => inputsFromTensors('flux', new Map(inputTensors(inputs).slice(1)))).toThrow(/no latents/);
  });

  it('refuses a family this runtime does not run', () => {
    const other = new TextEncoder().encode(JSON.stringify({ ...run, family: 'unet' }));
    const buf = new Uint8Array(HEADER_BYTES);
    new DataView(buf.buffer).setUint32(0, other.length, true);
    buf.set(other, 4);
    expect(() => decodeHeader(buf)).toThrow(/unknown header/);
  });
});
