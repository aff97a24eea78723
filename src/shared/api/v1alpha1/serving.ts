import type { Int32, ObjectName } from './primitives.js';

/** A key of a Secret in the same namespace. */
export interface SecretKeyRef {
  /**
   * Name of the Secret.
   */
  name: ObjectName;
  /**
   * Key inside the Secret.
   * @default "token"
   * @minLength 1
   * @maxLength 253
   * @pattern ^[-._a-zA-Z0-9]+$
   */
  key: string;
}

/** How each group's leader serves requests. */
export interface ServingSpec {
  /**
   * HTTP port of the leader pod and of the group's Service.
   * @default 8080
   * @minimum 1
   * @maximum 65535
   */
  port: Int32;
  /**
   * Requests a leader queues while it is busy; more are refused with 429.
   * @default 16
   * @minimum 0
   * @maximum 10000
   */
  queueSize: Int32;
  /**
   * Secret key holding a bearer token that requests must present; omitted: no authentication (keep the
   * Service inside the cluster).
   */
  authSecretRef?: SecretKeyRef;
}
