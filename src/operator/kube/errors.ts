/** A non-2xx answer from the API server, carrying its `Status` reason so callers can branch on it. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    /** The `reason` of the API server's Status object (`NotFound`, `Conflict`, `Expired`, ...). */
    readonly reason: string,
    /** The Status object's message as the API server wrote it. */
    readonly detail: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${reason}: ${detail}`);
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
}

/** 410 Gone: the resourceVersion a watch or list continued from is no longer in the API server's window. */
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 410;
}

/**
 * 422 Invalid: the API server refused the object itself (a name, a label, a field value). Retrying the
 * same object cannot succeed; only a change of the input that produced it can.
 */
export function isInvalid(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 422;
}
