/**
 * Which addresses a rank binds: the store on rank 0, and the gloo listener every rank opens for its
 * peers. On one machine (rendezvous on loopback) both are 127.0.0.1; in a pod the store listens on all
 * interfaces and gloo on the address of GLOO_SOCKET_IFNAME (the operator defaults it to the pod's eth0).
 */
import { networkInterfaces } from 'node:os';
import { DEFAULT_SOCKET_IFNAME, RUNTIME_ENV } from '../../shared/runtime-contract.js';
import { EnvironmentError } from './env-config.js';

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '::1';

export function bindAddresses(
  rendezvousHost: string,
  env: Readonly<Record<string, string | undefined>>,
): { storeListenHost: string; listenHost: string } {
  if (isLoopback(rendezvousHost)) return { storeListenHost: '127.0.0.1', listenHost: '127.0.0.1' };
  const name = env[RUNTIME_ENV.glooSocketIfname]?.trim() || DEFAULT_SOCKET_IFNAME;
  const iface = networkInterfaces()[name]?.find((a) => a.family === 'IPv4' && !a.internal);
  if (!iface) {
    throw new EnvironmentError(
      `${RUNTIME_ENV.glooSocketIfname} names interface '${name}', which has no IPv4 address on this host`,
    );
  }
  return { storeListenHost: '0.0.0.0', listenHost: iface.address };
}
