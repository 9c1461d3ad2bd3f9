import { containsLossless, isLosslessNumber, jsonText, sameDecimal } from '../exact-json.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';

/**
 * Conformance: a served value made into a value of its field's declared JSON Schema type, without
 * loss, before validation. The README's "Field types" table is this file in words:
 *
 * | served              | string field             | integer field        | number field   | boolean field | object / array field |
 * |---------------------|--------------------------|----------------------|----------------|---------------|----------------------|
 * | string              | as served, NUL removed   | `"42"` -> 42         | `"4.5"` -> 4.5 | `"true"`      | -                    |
 * | number              | its exact decimal text   | whole: as served     | as served      | -             | -                    |
 * | boolean             | `"true"` / `"false"`     | -                    | -              | as served     | -                    |
 * | object / array      | its JSON text            | -                    | -              | -             | as served (its kind) |
 * | null                | null                     | null                 | null           | null          | null                 |
 *
 * A field may declare several types: a value keeps its own JSON type when declared, else takes the
 * first conversion the table allows, string last. `-` (and `null` in a field that does not allow
 * null) is a value that cannot be conformed without loss: UNCONFORMABLE, which the record pipeline
 * turns into null and a warning (or a failure with `strict_types`). A `format: date-time` string
 * is also converted from the project's zone into a UTC instant; one that is not a date-time is
 * UNCONFORMABLE. A number's exact decimal text is JavaScript's shortest spelling of it (`1.50`
 * arrives as `"1.5"`, `1E3` as `"1000"`) when a double holds it exactly, else the text as served
 * (see api/exact-json.ts): digits are never lost.
 */
export const UNCONFORMABLE: unique symbol = Symbol('unconformable');
export type Conformed = JsonValue | typeof UNCONFORMABLE;
export type Conformer = (value: unknown) => Conformed;

type Kind = 'null' | 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array';
const KINDS: ReadonlySet<string> = new Set(['null', 'string', 'integer', 'number', 'boolean', 'object', 'array']);

/** The declared types of a property schema; undefined when it declares none (anything goes). */
export function declaredTypes(schema: JsonValue | undefined): ReadonlySet<Kind> | undefined {
  if (!isJsonObject(schema)) return undefined;
  const type = schema.type;
  const list = typeof type === 'string' ? [type] : Array.isArray(type) ? type : undefined;
  if (list === undefined) return undefined;
  return new Set(list.filter((t): t is Kind => typeof t === 'string' && KINDS.has(t)));
}

const stripNul = (text: string): string => (text.includes('\u0000') ? text.replaceAll('\u0000', '') : text);

const INTEGER_TEXT = /^-?(?:0|[1-9]\d{0,15})$/;
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The conformer of one property. `toUtc` converts the API's zone-less date-times (for
 * `format: date-time`); it returns undefined for a text that is not one.
 */
export function createConformer(schema: JsonValue | undefined, toUtc: (text: string) => string | undefined): Conformer {
  const types = declaredTypes(schema);
  const dateTime = isJsonObject(schema) && schema.format === 'date-time';
  if (types === undefined) return anyValue;
  const allows = (kind: Kind): boolean => types.has(kind);
  const str = allows('string');
  const int = allows('integer');
  const num = allows('number');
  const bool = allows('boolean');
  const nul = allows('null');
  const obj = allows('object');
  const arr = allows('array');
  const asString = (text: string): Conformed => {
    if (!dateTime) return stripNul(text);
    return toUtc(text) ?? UNCONFORMABLE;
  };

  // The common cases first: a string in a string field, a whole number in an integer field.
  return (value) => {
    switch (typeof value) {
      case 'string': {
        if (str) return asString(value);
        if (int && INTEGER_TEXT.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
        if (num && NUMBER_TEXT.test(value)) {
          const n = Number(value);
          if (Number.isFinite(n) && exactText(value, n)) return n;
        }
        if (bool && (value === 'true' || value === 'false')) return value === 'true';
        return UNCONFORMABLE;
      }
      case 'number': {
        if ((int && Number.isInteger(value)) || num) return value;
        if (str) return asString(String(value));
        return UNCONFORMABLE;
      }
      case 'boolean': {
        if (bool) return value;
        if (str) return asString(String(value));
        return UNCONFORMABLE;
      }
      case 'object': {
        if (value === null) return nul ? null : UNCONFORMABLE;
        if (isLosslessNumber(value)) return str ? asString(value.value) : UNCONFORMABLE;
        if (Array.isArray(value) ? arr : obj) return containsLossless(value) ? UNCONFORMABLE : (value as JsonValue);
        if (str) return asString(jsonText(value));
        return UNCONFORMABLE;
      }
      default:
        return UNCONFORMABLE;
    }
  };
}

/** A property without `type`: any value as served, a too-precise number as its text. */
function anyValue(value: unknown): Conformed {
  if (typeof value === 'string') return stripNul(value);
  if (typeof value === 'object' && value !== null && containsLossless(value)) {
    return isLosslessNumber(value) ? value.value : jsonText(value);
  }
  return value as JsonValue;
}

/** True when the double `n`, written as JSON writes it, is the decimal `text` (no digit lost). */
const exactText = (text: string, n: number): boolean => sameDecimal(text, String(n));

/** The schema every field gets that the shipped schema (or the catalog) does not name. */
export const NEW_FIELD_SCHEMA: JsonObject = Object.freeze({ type: ['null', 'string'] });
