/** Joins the group named by the env contract, with this rank's bind addresses and the collective timeout. */
import { joinGroup, type ParallelGroup } from '../rendezvous/group.js';
import type { RankSetup } from './rank-setup.js';

export function joinServingGroup(setup: RankSetup): Promise<ParallelGroup> {
  return joinGroup({
    host: setup.pod.rendezvousAddress,
    port: setup.pod.rendezvousPort,
    rank: setup.rank,
    degrees: setup.plan.degrees,
    backend: 'gloo',
    timeoutMs: setup.timeoutMs,
    logger: setup.logger,
    storeListenHost: setup.addresses.storeListenHost,
    listenHost: setup.addresses.listenHost,
  });
}
