/** Writes safetensors bytes for tests: header JSON padded with spaces to 8 bytes, tensors in order. */
export interface WrittenTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function safetensorsBytes(
  tensors: readonly WrittenTensor[],
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.bytes))]);
}

export const f32Bytes = (values: readonly number[]): Uint8Array =>
  new Uint8Array(Float32Array.from(values).buffer);
export const u16Bytes = (values: readonly number[]): Uint8Array =>
  new Uint8Array(Uint16Array.from(values).buffer);
