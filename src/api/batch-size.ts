import { ApiError } from '../errors.js';

/**
 * How many session ids one get-visits or get-conversions request carries, learned during the run.
 *
 * The API names no maximum (contract, "Batch size"). The sizer starts at `session_batch_size`,
 * doubles after every full batch the API accepted quickly with a body of moderate size, up to
 * `max_session_batch_size`, and shrinks when the API refuses a batch (413, 414, or a 422 whose
 * errors name `session_ids`: Laravel's "must not have more than N items", whose N it jumps to)
 * or when a body was too slow or too large. A refusal also sets a ceiling that holds for the rest
 * of the run: the sizer never grows past a size the API refused.
 */
export interface BatchSizer {
  /** The number of ids the next request carries. */
  readonly size: number;
  /** A batch of `ids` ids was answered with a body of `bytes` bytes in `ms` milliseconds. */
  accepted(ids: number, bytes: number, ms: number): void;
  /**
   * A batch of `ids` ids failed with `error`. Returns true when the error is the API refusing the
   * batch's size and a smaller batch can be tried (the caller retries the same ids in batches of
   * the new `size`); false when the error is something else, or a batch of one id was refused.
   */
  refused(ids: number, error: unknown): boolean;
  /** One line for the end of the run: where the size started, where it ended, why. */
  summary(): string;
}

/** A body above this many bytes, or slower than this, does not let the batch grow. */
export const GROW_BELOW_BYTES = 16 * 2 ** 20;
export const GROW_BELOW_MS = 10_000;
/** A body above this many bytes, or slower than this, halves the batch (and caps it there). */
export const SHRINK_ABOVE_BYTES = 64 * 2 ** 20;
export const SHRINK_ABOVE_MS = 30_000;

export function createBatchSizer(start: number, max: number): BatchSizer {
  let size = Math.max(1, Math.min(start, max));
  /** Largest size that may be tried: `max`, or lower once the API refused or a body was too slow. */
  let ceiling = Math.max(size, max);
  let refusals = 0;
  let slow = 0;
  let reason = '';
  const limitTo = (n: number, why: string): void => {
    ceiling = Math.max(1, Math.min(ceiling, n));
    size = Math.min(size, ceiling);
    reason = why;
  };
  return {
    get size() {
      return size;
    },
    accepted(ids, bytes, ms) {
      if (bytes > SHRINK_ABOVE_BYTES || ms > SHRINK_ABOVE_MS) {
        slow += 1;
        limitTo(Math.max(1, Math.floor(ids / 2)), `a body of ${ids} sessions took ${(ms / 1000).toFixed(1)} s and ${(bytes / 2 ** 20).toFixed(1)} MiB`);
        return;
      }
      if (ids < size || size >= ceiling || bytes > GROW_BELOW_BYTES || ms > GROW_BELOW_MS) return;
      size = Math.min(ceiling, size * 2);
    },
    refused(ids, error) {
      const refusal = batchRefusal(error);
      if (refusal === undefined || ids <= 1) return false;
      refusals += 1;
      if (refusal.limit !== undefined && refusal.limit < ids) limitTo(refusal.limit, refusal.why);
      // Without a limit, halve; a batch larger than the ceiling was sent before an earlier
      // refusal lowered it (requests run concurrently) and says nothing new.
      else if (ids <= ceiling) limitTo(Math.floor(ids / 2), refusal.why);
      return true;
    },
    summary() {
      const from = start === size && refusals === 0 && slow === 0 ? '' : ` (started at ${start}`;
      const why = reason === '' ? '' : `; ${reason}`;
      const counts = refusals === 0 ? '' : `; ${refusals} refused ${refusals === 1 ? 'batch' : 'batches'}`;
      const tail = from === '' ? '' : `${from}${why}${counts})`;
      return `session batch size: ${size} ids per request${tail}, max_session_batch_size ${max}`;
    },
  };
}

/**
 * The API refusing a batch because of its size: a 413 or 414 (a proxy's limit on the body or the
 * URL), or a 422 whose field errors name `session_ids` and nothing else. `limit` is the N of
 * Laravel's "must not have more than N items" when the message gives it.
 */
export function batchRefusal(error: unknown): { readonly limit: number | undefined; readonly why: string } | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const { status, fieldErrors } = error.context;
  if (status === 413 || status === 414) return { limit: undefined, why: `the API answered ${status}` };
  if (status !== 422 || fieldErrors === undefined) return undefined;
  const fields = Object.keys(fieldErrors);
  if (fields.length === 0 || fields.some((field) => field !== 'session_ids')) return undefined;
  const reasons = fieldErrors.session_ids ?? [];
  const limit = limitIn(reasons);
  return { limit, why: `the API refused more than ${limit ?? 'some'} session ids (422: ${reasons.join(' ')})` };
}

/** The N of "must not have more than N items" (or "may not be greater than N"), if a reason says it. */
export function limitIn(reasons: readonly string[]): number | undefined {
  for (const reason of reasons) {
    const match = /(?:more than|greater than|maximum of|at most)\s+(\d+)/i.exec(reason);
    if (match !== null) {
      const n = Number(match[1]);
      if (Number.isSafeInteger(n) && n >= 1) return n;
    }
  }
  return undefined;
}
