/**
 * The shape of the comm part of the native addon (`native/src/store`, `native/src/comm`): the one
 * contract between that C++ and the TypeScript in this folder. Everything here is internal; use
 * `TcpStore` and `createCommunicator` from `./index.js`.
 */
import { loadNativeAddon } from '../native/binding.js';

/** Element types the communicators understand ('f16'/'bf16' reduce through f32). */
export type CommDType = 'f32' | 'f64' | 'f16' | 'bf16' | 'i8' | 'u8' | 'i32' | 'i64';
export type ReduceOp = 'sum' | 'max';

/** A Tensor of the tensor core (resolved natively through GetBufferView); only its dtype is read here. */
export interface TensorLike {
  readonly dtype: string;
}

/** Memory a communicator reads or writes: a TypedArray, or a contiguous native Tensor. */
export type CommBuffer = ArrayBufferView | TensorLike;

export interface NativeTransfer {
  buf: CommBuffer;
  peer: number;
  tag: number;
}

export interface NativeStoreServer {
  readonly port: number;
  /** Connections closed because they did not prove the group secret in time. */
  readonly refusedConnections: number;
  close(): void;
}

export interface NativeStoreClient {
  set(key: string, value: Uint8Array): Promise<void>;
  get(key: string, timeoutMs: number): Promise<Uint8Array>;
  add(key: string, delta: number): Promise<number>;
  wait(keys: string[], timeoutMs: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  check(key: string): Promise<boolean>;
  close(): void;
}

export interface NativeCommunicatorOptions {
  backend: 'gloo' | 'nccl';
  host: string;
  port: number;
  /** The group secret: the store connection and every gloo pair prove it before anything else. */
  secret: Uint8Array;
  prefix: string;
  rank: number;
  size: number;
  timeoutMs: number;
  listenHost?: string;
  cudaDevice?: number;
}

export interface NativeCommunicator {
  readonly rank: number;
  readonly size: number;
  readonly backend: string;
  readonly failure: string;
  /** NCCL: the number of the last operation started (1, 2, … in call order); gloo: 0. */
  readonly started: number;
  /** NCCL: queues on the default stream a wait for operation `operation`; throws the reason otherwise. */
  orderDefaultStream(operation: number): void;
  allReduce(buf: CommBuffer, dtype: CommDType, op: ReduceOp): Promise<void>;
  allGather(input: CommBuffer, output: CommBuffer, dtype: CommDType): Promise<void>;
  allToAll(input: CommBuffer, output: CommBuffer, dtype: CommDType): Promise<void>;
  allToAllV(
    input: CommBuffer,
    inCounts: readonly number[],
    output: CommBuffer,
    outCounts: readonly number[],
    dtype: CommDType,
  ): Promise<void>;
  broadcast(buf: CommBuffer, root: number, dtype: CommDType): Promise<void>;
  send(buf: CommBuffer, peer: number, tag: number): Promise<void>;
  recv(buf: CommBuffer, peer: number, tag: number): Promise<void>;
  exchange(sends: readonly NativeTransfer[], recvs: readonly NativeTransfer[]): Promise<void>;
  barrier(): Promise<void>;
  abort(reason: string): void;
  close(): Promise<void>;
}

export interface CommBinding {
  StoreServer: new (host: string, port: number, options: { secret: Uint8Array }) => NativeStoreServer;
  connectStore(options: {
    host: string;
    port: number;
    timeoutMs: number;
    secret: Uint8Array;
  }): Promise<NativeStoreClient>;
  createCommunicator(options: NativeCommunicatorOptions): Promise<NativeCommunicator>;
}

let cached: CommBinding | undefined;

/** Loads the addon's comm part once (where the addon is: nativeAddonPath). */
export function commBinding(): CommBinding {
  cached ??= loadNativeAddon<CommBinding>('comm part (built without native/comm.gypi?)', (loaded) =>
    Boolean(loaded.connectStore && loaded.createCommunicator && loaded.StoreServer),
  );
  return cached;
}
