/** `Authorization: Bearer <token>` against the configured token, in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Returns whether a request's Authorization header is accepted; with no token configured, every request
 * is. Both sides are hashed first so the comparison takes the same time whatever the lengths.
 */
export function bearerChecker(token: string | undefined): (authorization: string | undefined) => boolean {
  if (token === undefined || token === '') return () => true;
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer +(.+)$/i.exec(authorization ?? '');
    const presented = digest(match?.[1]?.trim() ?? '');
    return timingSafeEqual(presented, expected) && match !== null;
  };
}
