import { TapError } from '../errors.js';
import { isLosslessNumber, jsonText } from '../exact-json.js';
import type { Logger } from '../log.js';

/**
 * Values that could not be conformed to their field's type without loss, per stream and field.
 * Without `strict_types` each one is warned about once per stream and field, and the counts are
 * reported at the end of the run (a WARN line and one `unconformable_values` METRIC per field);
 * with it, the first one fails the run.
 */
export interface ConformanceIssues {
  /** Notes one value (throws with `strict_types`); `outcome` says what became of it. */
  note(stream: string, field: string, value: unknown, id: unknown, outcome: Outcome): void;
  /** Logs the counts, if any. */
  report(): void;
  /** Counts so far, `stream.field` -> n (tests, the final report). */
  counts(): ReadonlyMap<string, number>;
}

/** What became of an unconformable value: the field emitted as null, left out, or the whole record skipped. */
export type Outcome = 'null' | 'left out' | 'record skipped';

const excerpt = (value: unknown): string => {
  const text = isLosslessNumber(value) ? value.value : value === undefined ? 'no value' : jsonText(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

export function createConformanceIssues(log: Logger, strict: boolean): ConformanceIssues {
  const counts = new Map<string, number>();
  const outcomes = new Map<string, Outcome>();
  return {
    note(stream, field, value, id, outcome) {
      const key = `${stream}.${field}`;
      const where = id === undefined || id === null ? '' : ` (record id=${excerpt(id)})`;
      if (strict) {
        throw new TapError('record-invalid', `${stream}: field "${field}" value ${excerpt(value)}${where} cannot be conformed to its declared type without loss (strict_types is on)`);
      }
      const seen = counts.get(key);
      counts.set(key, (seen ?? 0) + 1);
      if (seen !== undefined) return;
      outcomes.set(key, outcome);
      const what = outcome === 'record skipped' ? 'the record is skipped' : outcome === 'null' ? 'it is emitted as null' : 'the field is left out of the record';
      log.warn(`${stream}: field "${field}" value ${excerpt(value)}${where} cannot be conformed to its declared type without loss; ${what} (warned once per stream and field; counted, see the end of the run)`);
    },
    report() {
      if (counts.size === 0) return;
      const parts = [...counts].map(([key, n]) => `${key} ${n} (${outcomes.get(key) === 'record skipped' ? 'records skipped' : outcomes.get(key)})`);
      log.warn(`values that could not be conformed to their declared type without loss: ${parts.join(', ')}`);
      for (const [key, n] of counts) {
        const dot = key.indexOf('.');
        log.metric({ type: 'counter', metric: 'unconformable_values', value: n, tags: { stream: key.slice(0, dot), field: key.slice(dot + 1) } });
      }
    },
    counts: () => counts,
  };
}
