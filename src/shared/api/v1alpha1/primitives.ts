/**
 * Scalar aliases that carry schema tags. TypeScript has one `number`; the CRD generator reads these
 * aliases' tags to emit `integer` with a format, or Kubernetes' int-or-string quantities.
 */

/**
 * A 32-bit integer.
 * @integer
 * @format int32
 */
export type Int32 = number;

/**
 * A 64-bit integer (byte counts).
 * @integer
 * @format int64
 */
export type Int64 = number;

/**
 * A Kubernetes resource quantity such as `80Gi`, `500m` or `4`, as in pod resource requests.
 * @intOrString
 * @pattern ^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$
 */
export type Quantity = string | number;

/**
 * A DNS-1123 subdomain: the name of a Secret, PersistentVolumeClaim or PriorityClass.
 * @minLength 1
 * @maxLength 253
 * @pattern ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$
 */
export type ObjectName = string;
