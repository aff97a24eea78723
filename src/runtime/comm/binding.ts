/**
 * The shape of the comm part of the native addon (`native/src/store`, `native/src/comm`): the one
 * contract between that C++ and the TypeScript in this folder. Everything here is internal; use
 * `TcpStore` and `createCommunicator` from `./index.js`.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

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
  StoreServer: new (host: string, port: number) => NativeStoreServer;
  connectStore(options: { host: string; port: number; timeoutMs: number }): Promise<NativeStoreClient>;
  createCommunicator(options: NativeCommunicatorOptions): Promise<NativeCommunicator>;
}

let cached: CommBinding | undefined;

/**
 * Loads the addon once. TESSERA_NATIVE_ADDON overrides the path (a separately built copy); otherwise
 * native/build/Release/tessera_native.node, which sits at the same depth from src/ and dist/.
 */
export function commBinding(): CommBinding {
  if (cached) return cached;
  const path =
    process.env.TESSERA_NATIVE_ADDON ??
    resolve(import.meta.dirname, '../../../native/build/Release/tessera_native.node');
  const require = createRequire(import.meta.url);
  let loaded: Partial<CommBinding>;
  try {
    loaded = require(path) as Partial<CommBinding>;
  } catch (err) {
    throw new Error(`cannot load the native addon at ${path}: run ./scripts/setup to build it`, {
      cause: err,
    });
  }
  if (!loaded.connectStore || !loaded.createCommunicator || !loaded.StoreServer) {
    throw new Error(`the native addon at ${path} has no comm part (built without native/comm.gypi?)`);
  }
  cached = loaded as CommBinding;
  return cached;
}
