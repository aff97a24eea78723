/**
 * The group's secret: every store client and every gloo connection of the group proves it before
 * anything else is read (native/src/store/group_auth.h). In a pod it is the file the operator mounts
 * from the group's Secret (TESSERA_GROUP_SECRET_FILE); a local group writes a fresh one for its ranks.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_ENV } from '../../shared/runtime-contract.js';

export const GROUP_SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 4096;

export class GroupSecretError extends Error {
  override readonly name = 'GroupSecretError';
}

/** The secret named by TESSERA_GROUP_SECRET_FILE; a trailing newline (echo > file) is not part of it. */
export function readGroupSecret(env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const path = env[RUNTIME_ENV.groupSecretFile];
  if (!path) {
    throw new GroupSecretError(
      `${RUNTIME_ENV.groupSecretFile} is not set: the group's store and communicators admit only ranks that ` +
        "hold the group secret (the operator mounts it from the group's Secret; tessera denoise makes one)",
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new GroupSecretError(`cannot read the group secret ${path} (${RUNTIME_ENV.groupSecretFile})`, {
      cause,
    });
  }
  const secret = bytes.at(-1) === 0x0a ? bytes.subarray(0, -1) : bytes;
  if (secret.length < MIN_SECRET_BYTES || secret.length > MAX_SECRET_BYTES) {
    throw new GroupSecretError(
      `the group secret ${path} holds ${secret.length} bytes; it must hold ${MIN_SECRET_BYTES} to ` +
        `${MAX_SECRET_BYTES} (the operator writes ${GROUP_SECRET_BYTES} random bytes)`,
    );
  }
  return new Uint8Array(secret);
}

export function newGroupSecret(): Uint8Array {
  return new Uint8Array(randomBytes(GROUP_SECRET_BYTES));
}

/** Writes a fresh secret into `dir` (readable by this user only) and returns its path, for a local group. */
export function writeGroupSecretFile(dir: string): string {
  const path = join(dir, 'group-secret');
  writeFileSync(path, newGroupSecret(), { mode: 0o600 });
  return path;
}
