/**
 * The kubelet copies a container's termination message file into the pod's status
 * (`state.terminated.message`, at most 4 KiB); the operator reads the fetch-model init container's from
 * there, so a failed download becomes a condition with its reason.
 */
import { writeFileSync } from 'node:fs';

export const TERMINATION_LOG = '/dev/termination-log';
const MAX_BYTES = 4096;

/** Best effort: outside a pod the file does not exist and nothing is written. */
export function writeTerminationMessage(message: string, path = TERMINATION_LOG): void {
  try {
    writeFileSync(path, Buffer.from(message).subarray(0, MAX_BYTES), { flag: 'r+' });
  } catch {
    // Not in a pod (or the path is not writable): the message is on stderr anyway.
  }
}
