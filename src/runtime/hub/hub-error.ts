import { CONDITION_REASONS } from '../../shared/api/v1alpha1/index.js';

/**
 * Why a download from the hub failed, as a reason the operator turns into a condition. The init
 * container writes `<reason>: <message>` as its termination message, so the words reach the object.
 */
export const HUB_FAILURE_REASONS = {
  unauthorized: CONDITION_REASONS.hubUnauthorized,
  notFound: CONDITION_REASONS.hubNotFound,
  checksumMismatch: CONDITION_REASONS.checksumMismatch,
  unreachable: CONDITION_REASONS.hubUnreachable,
  protocol: CONDITION_REASONS.hubProtocolError,
} as const;
export type HubFailureReason = (typeof HUB_FAILURE_REASONS)[keyof typeof HUB_FAILURE_REASONS];

export class HubError extends Error {
  override readonly name = 'HubError';

  constructor(
    readonly reason: HubFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The termination-message form: `HubNotFound: …`. */
  summary(): string {
    return `${this.reason}: ${this.message}`;
  }
}

/** The error for a non-success HTTP status, with what to do about it. */
export function httpFailure(status: number, what: string, repository: string): HubError {
  if (status === 401 || status === 403) {
    return new HubError(
      HUB_FAILURE_REASONS.unauthorized,
      `${what}: the hub answered ${status} — put a token that can read ${repository} into the Secret named by spec.model.source.hub.tokenSecretRef (for a gated repository, accept its terms on the hub first)`,
    );
  }
  if (status === 404) {
    return new HubError(
      HUB_FAILURE_REASONS.notFound,
      `${what}: the hub answered 404 — check spec.model.source.hub.repository and .revision (a private repository also needs tokenSecretRef)`,
    );
  }
  return new HubError(HUB_FAILURE_REASONS.protocol, `${what}: the hub answered HTTP ${status}`);
}
