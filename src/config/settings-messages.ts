/**
 * How config problems are worded: one message per problem, naming the setting, quoting the user's
 * value cut short, and never a secret setting's value (the token).
 */
import type { ErrorObject } from 'ajv';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { secretSettings } from './spec.js';

export const REDACTED = '***';
/** Longest excerpt of a user's value quoted in a message. */
const MAX_SHOWN_CHARS = 80;

/** A copy of `raw` with every secret setting's value replaced by `***`, for debug logging. */
export function redactConfig(raw: JsonObject): JsonObject {
  const out: JsonObject = { ...raw };
  for (const name of secretSettings) if (out[name] !== undefined) out[name] = REDACTED;
  return out;
}

function isSecret(name: string): boolean {
  return secretSettings.includes(name);
}

/** A user's value, quoted as JSON and cut short. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function withArticle(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(root: JsonValue, path: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  for (const segment of path) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isJsonObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** One ajv error as `[setting, "setting…: what is wrong"]`. */
export function describeSchemaError(error: ErrorObject, data: JsonObject): [string, string] {
  if (error.keyword === 'required') {
    const missing = String(error.params.missingProperty);
    return [missing, `${missing}: is missing (required)`];
  }
  const path = decodePointer(error.instancePath);
  const setting = path[0] ?? '(config)';
  const label = setting + path.slice(1).map((segment) => `[${segment}]`).join('');
  const value = valueAt(data, path);
  const secret = isSecret(setting);
  const got = secret ? '' : `, got ${show(value)}`;
  const limit = String(error.params.limit);
  let what: string;
  switch (error.keyword) {
    case 'type': {
      const expected = String(error.params.type).split(',').map(withArticle).join(' or ');
      const fraction = typeof value === 'number' && !Number.isInteger(value);
      what = fraction && !secret ? `must be ${expected}, got ${show(value)}` : `must be ${expected}, not ${jsonTypeOf(value)}`;
      break;
    }
    case 'minLength':
      what = limit === '1' ? 'is empty' : `must be at least ${limit} characters long`;
      break;
    case 'minItems':
      what = limit === '1' ? 'must list at least one item, or be left out' : `must list at least ${limit} items`;
      break;
    case 'minimum':
      what = `must be at least ${limit}${got}`;
      break;
    case 'maximum':
      what = `must be at most ${limit}${got}`;
      break;
    case 'exclusiveMinimum':
      what = `must be greater than ${limit}${got}`;
      break;
    default:
      what = `${error.message ?? `fails "${error.keyword}"`}${got}`;
  }
  return [setting, `${label}: ${what}`];
}
