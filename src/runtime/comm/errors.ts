/** The error every failed store or communicator operation rejects with; `cause` is the native error. */
export class CommError extends Error {
  override readonly name = 'CommError';
  constructor(
    message: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Runs a native call and rethrows its failure as a CommError that names the operation and keeps the
 * caller's stack (captured before the call, since the native rejection has none) and the native cause.
 */
export async function describeFailure<T>(
  operation: string,
  context: string,
  call: () => Promise<T>,
): Promise<T> {
  const callerStack = new Error().stack;
  try {
    return await call();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const wrapped = new CommError(`${operation} (${context}) failed: ${reason}`, operation, { cause: err });
    if (callerStack)
      wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${callerStack.split('\n').slice(2).join('\n')}`;
    throw wrapped;
  }
}
