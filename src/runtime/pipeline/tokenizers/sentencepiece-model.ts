/**
 * Reads a SentencePiece `spiece.model` (a serialized `sentencepiece.ModelProto`): the pieces with their
 * scores and types, the special ids of the trainer spec, and the normalizer's precompiled charsmap.
 *
 * Written by hand because only these few fields are needed and the protobuf wire format is small (varint,
 * fixed32 and length-delimited records); a protobuf library would still need the schema compiled in. Every
 * length is checked against the buffer, so a truncated or foreign file fails with its name.
 */
import { readFileSync } from 'node:fs';

export class SentencePieceModelError extends Error {
  override readonly name = 'SentencePieceModelError';
}

/** sentencepiece.ModelProto.SentencePiece.Type */
export const PIECE_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  eosId: number;
  padId: number;
  byteFallback: boolean;
  normalizerName: string;
  /** NormalizerSpec.precompiled_charsmap (empty when the model was trained without normalization). */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
}

const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

class ProtoReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly source: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private fail(what: string): never {
    throw new SentencePieceModelError(
      `${this.source}: ${what} at byte ${this.pos}; is this a SentencePiece model?`,
    );
  }

  /** A varint as a JS number, low 32 bits sign-extended when `int32` (protobuf encodes -1 as 10 bytes). */
  varint(int32 = false): number {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const byte = this.buf[this.pos++] as number;
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) {
        if (int32) return low | 0;
        return (high >>> 0) * 2 ** 32 + (low >>> 0);
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  fixed32Float(): number {
    if (this.pos + 4 > this.buf.length) this.fail('truncated float');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.buf.length) this.fail(`a ${length}-byte field runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key % 8 };
  }

  skip(wire: number): void {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.bytes) this.bytes();
    else if (wire === WIRE.fixed32) this.advance(4);
    else if (wire === WIRE.fixed64) this.advance(8);
    else this.fail(`unsupported wire type ${wire}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) this.fail('truncated field');
    this.pos += n;
  }

  /** Reads records until the end, handing each (field, wire) to `onField`, which returns false to skip it. */
  fields(onField: (field: number, wire: number) => boolean): void {
    while (!this.done) {
      const { field, wire } = this.tag();
      if (!onField(field, wire)) this.skip(wire);
    }
  }

  nested(): ProtoReader {
    return new ProtoReader(this.bytes(), this.source);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readPiece(reader: ProtoReader): SentencePiece {
  const piece: SentencePiece = { piece: '', score: 0, type: PIECE_TYPE.normal };
  reader.fields((field, wire) => {
    if (field === 1 && wire === WIRE.bytes) piece.piece = utf8.decode(reader.bytes());
    else if (field === 2 && wire === WIRE.fixed32) piece.score = reader.fixed32Float();
    else if (field === 3 && wire === WIRE.varint) piece.type = reader.varint();
    else return false;
    return true;
  });
  return piece;
}

export function parseSentencePieceModel(buf: Uint8Array, source: string): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    eosId: 2,
    padId: -1,
    byteFallback: false,
    normalizerName: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
  };
  const reader = new ProtoReader(buf, source);
  reader.fields((field, wire) => {
    if (wire !== WIRE.bytes) return false;
    if (field === 1) model.pieces.push(readPiece(reader.nested()));
    else if (field === 2) readTrainerSpec(reader.nested(), model);
    else if (field === 3) readNormalizerSpec(reader.nested(), model);
    else return false;
    return true;
  });
  if (model.pieces.length === 0) {
    throw new SentencePieceModelError(`${source}: no pieces found; is this a SentencePiece model?`);
  }
  for (const [name, id] of [
    ['unk_id', model.unkId],
    ['eos_id', model.eosId],
  ] as const) {
    if (id < 0 || id >= model.pieces.length) {
      throw new SentencePieceModelError(
        `${source}: trainer_spec.${name} ${id} is outside the ${model.pieces.length} pieces`,
      );
    }
  }
  return model;
}

function readTrainerSpec(reader: ProtoReader, model: SentencePieceModel): void {
  reader.fields((field, wire) => {
    if (wire !== WIRE.varint) return false;
    if (field === 3) model.modelType = reader.varint();
    else if (field === 35) model.byteFallback = reader.varint() !== 0;
    else if (field === 40) model.unkId = reader.varint(true);
    else if (field === 42) model.eosId = reader.varint(true);
    else if (field === 43) model.padId = reader.varint(true);
    else return false;
    return true;
  });
}

function readNormalizerSpec(reader: ProtoReader, model: SentencePieceModel): void {
  reader.fields((field, wire) => {
    if (field === 1 && wire === WIRE.bytes) model.normalizerName = utf8.decode(reader.bytes());
    else if (field === 2 && wire === WIRE.bytes) model.precompiledCharsmap = reader.bytes();
    else if (field === 3 && wire === WIRE.varint) model.addDummyPrefix = reader.varint() !== 0;
    else return false;
    return true;
  });
}

export function readSentencePieceModel(path: string): SentencePieceModel {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (cause) {
    throw new SentencePieceModelError(`cannot read ${path}`, { cause });
  }
  return parseSentencePieceModel(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
