/**
 * What flows between Flux blocks during one forward. Double blocks keep text and image streams apart;
 * single blocks work on the joint sequence [text; image], built once at the first single block (diffusers
 * concatenates per block; doing it once is equivalent and saves a copy per block).
 */
import { ops, type Tensor } from '../../native/index.js';
import type { RopeTables } from './rope.js';

export type FluxStreams =
  | { kind: 'separate'; text: Tensor; image: Tensor }
  | { kind: 'joint'; joint: Tensor; textTokens: number };

export interface FluxState {
  /** SiLU(temb) [B, D]: every modulation reads temb through SiLU, so it is applied once. */
  activatedTemb: Tensor;
  /** Rotary tables for the joint sequence this rank holds, text rows first. */
  rope: RopeTables;
  streams: FluxStreams;
}

export function textTokens(streams: FluxStreams): number {
  return streams.kind === 'joint' ? streams.textTokens : streams.text.size(1);
}

/** The joint sequence [text; image] (concatenating once when the streams are still separate). */
export function jointStreams(state: FluxState): { joint: Tensor; textTokens: number } {
  const { streams } = state;
  if (streams.kind === 'joint') return streams;
  const joint = ops.concat([streams.text, streams.image], 1);
  const tokens = streams.text.size(1);
  streams.text.release();
  streams.image.release();
  state.streams = { kind: 'joint', joint, textTokens: tokens };
  return state.streams;
}

/** The image tokens (a contiguous copy when the streams are joint). */
export function imageStream(state: FluxState): Tensor {
  const { streams } = state;
  if (streams.kind === 'separate') return streams.image;
  const view = streams.joint.slice(1, streams.textTokens);
  const image = view.contiguous();
  if (image !== view) view.release();
  return image;
}

export function releaseState(state: FluxState): void {
  state.activatedTemb.release();
  state.rope.cos.release();
  state.rope.sin.release();
  if (state.streams.kind === 'separate') {
    state.streams.text.release();
    state.streams.image.release();
  } else {
    state.streams.joint.release();
  }
}
