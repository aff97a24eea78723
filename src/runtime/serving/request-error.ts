/**
 * Errors a client sees. Every refusal is a JSON body `{ error: { code, message, field?, fix? } }` so a
 * caller can act on it without parsing prose: `field` names the offending input and `fix` says what
 * would be accepted.
 */

export interface ErrorBody {
  error: { code: string; message: string; field?: string; fix?: string };
}

export interface RequestErrorDetails {
  field?: string;
  fix?: string;
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly field: string | undefined;
  readonly fix: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details: RequestErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.field = details.field;
    this.fix = details.fix;
    this.headers = details.headers ?? {};
  }

  body(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.fix !== undefined) error.fix = this.fix;
    return { error };
  }
}

/** 400 for one input field: what is wrong with it and what would be accepted. */
export function invalidField(field: string, message: string, fix: string): RequestError {
  return new RequestError(400, 'invalid_field', `${field}: ${message}`, { field, fix });
}
