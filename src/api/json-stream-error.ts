/** What the streaming item parser (json-items.ts) reports about a body it rejects. */

/** Why a body was rejected; every kind is a malformed (or, for `data-*`, unexpected) body. */
export type JsonStreamErrorCode =
  /** The body ended before the top-level object did (an empty or cut-short body). */
  | 'truncated'
  /** Invalid JSON, or a second `"data"` key. */
  | 'invalid'
  /** Well-formed or not, the body does not start with `{`. */
  | 'not-an-object'
  /** The body is a JSON object without a `"data"` key (see `envelope` for its fields). */
  | 'data-missing'
  /** `"data"` holds something other than a list (see `data` and `envelope`). */
  | 'data-not-list';

export interface ItemsEnvelope {
  /** Top-level fields other than `data` (e.g. `error`, `message`) seen so far, as JSON.parse makes them. */
  readonly fields: Record<string, unknown>;
  /** Items of `data` parsed so far. */
  readonly itemCount: number;
  /** True once the whole body was read and found to be one well-formed JSON object. */
  readonly complete: boolean;
}

export class JsonStreamError extends SyntaxError {
  override readonly name = 'JsonStreamError';

  constructor(
    readonly code: JsonStreamErrorCode,
    message: string,
    /** Offset in the body (bytes, after a BOM) where the problem is, when there is one. */
    readonly byteOffset?: number,
    /** For 'data-missing' and 'data-not-list': the whole body was read; these are its other fields. */
    readonly envelope?: ItemsEnvelope,
    /** For 'data-not-list': the value of `data`. */
    readonly data?: unknown,
  ) {
    super(message);
  }
}
