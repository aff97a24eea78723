/** A decoded but not yet validated request, whichever body format it came in. */

export interface RawTensor {
  /** How the client named it: the JSON field or the safetensors tensor name; errors quote it. */
  readonly label: string;
  readonly dtype: unknown;
  readonly shape: unknown;
  /** null: the payload could not be decoded (bad base64). */
  readonly bytes: Uint8Array | null;
}

export interface RawRequest {
  /** Keyed by the canonical (safetensors) name. */
  readonly tensors: ReadonlyMap<string, RawTensor>;
  /** Scalars as the client gave them; `undefined`: absent. Keys are the JSON field names. */
  readonly scalars: Readonly<Record<ScalarField, unknown>>;
  /** Where scalars came from, for error field names (`steps` or `query.steps`). */
  readonly scalarPrefix: string;
}

export const SCALAR_FIELDS = ['steps', 'guidanceScale', 'seed', 'timeoutMs'] as const;
export type ScalarField = (typeof SCALAR_FIELDS)[number];
