/**
 * Collectives for Tessera's runtime: the TCP store and communicators over gloo (CPU) or NCCL (GPU).
 *
 *   const store = await TcpStore.create({ host: leaderAddr, port: 29500, isServer: rank === 0 });
 *   const world = await createCommunicator({ backend: 'gloo', store, rank, size, timeoutMs: 30_000 });
 *   const axes = await axisCommunicators(world, plan.degrees);       // one communicator per mesh axis
 *   await axes.ulysses.allToAll(qkvIn, qkvOut);                       // Float32Array or Tensor
 *   await world.exchange({ sends: [{ buf: kv, peer: next }], recvs: [{ buf: kvNext, peer: prev }] });
 *   await world.close(); store.close();
 *
 * Every operation is async and runs on native threads; a timeout or a dead peer rejects every pending
 * operation with a CommError and tears the communicator down (rebuild with a new `generation`).
 * close() is optional at the end: a process may end (event loop drains, process.exit) with communicators
 * and the store still open and exits with its own code; at teardown the addon aborts and joins them, and
 * peers see a dead rank.
 */
export type { CommBuffer, CommDType, ReduceOp, TensorLike } from './binding.js';
export {
  type Backend,
  Communicator,
  type CommunicatorOptions,
  createCommunicator,
  type DeviceOrderedOp,
  type Transfer,
} from './communicator.js';
export { dtypeOf } from './dtype.js';
export { CommError } from './errors.js';
export { axisCommunicators } from './mesh-groups.js';
export { TcpStore, type TcpStoreOptions } from './store.js';
