import type { Dataset } from './dataset.js';

/**
 * Request-body validation as the Laravel API does it: every field is checked, every failure is
 * collected under the field's name, and any failure makes the whole request a 422.
 */

export type FieldErrors = Record<string, string[]>;
export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldErrors };

/** Columns list-sessions may sort on (API contract, section 2). */
export const SORT_KEYS = ['id', 'browser', 'device', 'platform_os', 'country', 'time_spend', 'created_at'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface SessionsQuery {
  readonly startDate: string;
  readonly endDate: string;
  readonly sortKey: SortKey;
  readonly sortOrder: 'asc' | 'desc';
  /** undefined when the body has no per_page. */
  readonly perPage: number | undefined;
  readonly filters: Readonly<Record<string, unknown>>;
  readonly includeIpAddresses: boolean;
}

export interface ChildrenQuery {
  readonly key: 'list' | 'count';
  readonly startDate: string | undefined;
  readonly endDate: string | undefined;
  readonly sessionIds: readonly number[];
  /** visit_ids for get-visits; undefined when absent. */
  readonly ids: readonly number[] | undefined;
  /** conversion_types for get-conversions; undefined when absent. */
  readonly types: readonly string[] | undefined;
}

/** Laravel's attribute names in messages: snake_case and camelCase become words. */
function words(field: string): string {
  return field.includes('.') ? field : field.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
}

class Collector {
  readonly errors: FieldErrors = {};
  add(field: string, message: string): void {
    (this.errors[field] ??= []).push(message.replace(':attribute', words(field)));
  }
  get failed(): boolean {
    return Object.keys(this.errors).length > 0;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An id as Laravel's `integer` rule takes it: a whole number, or a string of one. */
function toId(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    const n = Number(value.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** Laravel's "missing": absent, null, or an empty string. */
function missing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function checkDate(out: Collector, dataset: Dataset, field: string, value: unknown, required: boolean): string | undefined {
  if (missing(value)) {
    if (required) out.add(field, 'The :attribute field is required.');
    return undefined;
  }
  if (typeof value !== 'string') {
    out.add(field, 'The :attribute does not match the format Y-m-d H:i:s.');
    return undefined;
  }
  const parsed = dataset.parseLocal(value);
  if (parsed.ok) return value;
  out.add(
    field,
    parsed.problem === 'format'
      ? 'The :attribute does not match the format Y-m-d H:i:s.'
      : `The :attribute is not a valid date: that time does not exist in ${dataset.zone} (daylight saving gap).`,
  );
  return undefined;
}

function checkRange(out: Collector, start: string | undefined, end: string | undefined): void {
  if (start !== undefined && end !== undefined && end < start) out.add('end_date', 'The :attribute must be a date after or equal to start date.');
}

function checkIds(out: Collector, field: string, value: unknown, required: boolean): number[] | undefined {
  if (missing(value)) {
    if (required) out.add(field, 'The :attribute field is required.');
    return undefined;
  }
  if (!Array.isArray(value)) {
    out.add(field, 'The :attribute must be an array.');
    return undefined;
  }
  if (required && value.length === 0) {
    out.add(field, 'The :attribute field is required.');
    return undefined;
  }
  const ids: number[] = [];
  value.forEach((item, index) => {
    const id = toId(item);
    if (id === undefined) out.add(`${field}.${index}`, 'The :attribute must be an integer.');
    else ids.push(id);
  });
  return ids;
}

/** list-sessions (POST /services/analytics/v1/project/sessions). */
export function validateSessionsBody(body: Record<string, unknown>, dataset: Dataset): Validated<SessionsQuery> {
  const out = new Collector();
  const startDate = checkDate(out, dataset, 'start_date', body.start_date, true);
  const endDate = checkDate(out, dataset, 'end_date', body.end_date, true);
  checkRange(out, startDate, endDate);

  const { sortKey, sortOrder, per_page: perPage, read_status: readStatus, filters } = body;
  if (missing(sortKey)) out.add('sortKey', 'The :attribute field is required.');
  else if (!SORT_KEYS.includes(sortKey as SortKey)) out.add('sortKey', 'The selected :attribute is invalid.');
  if (missing(sortOrder)) out.add('sortOrder', 'The :attribute field is required.');
  else if (sortOrder !== 'asc' && sortOrder !== 'desc') out.add('sortOrder', 'The selected :attribute is invalid.');

  if (filters === undefined || filters === null) out.add('filters', 'The :attribute field is required.');
  else if (!isObject(filters)) out.add('filters', 'The :attribute must be an object.');

  let pageSize: number | undefined;
  if (!missing(perPage)) {
    if (typeof perPage !== 'string') out.add('per_page', 'The :attribute must be a string.');
    else if (!/^\d+$/.test(perPage)) out.add('per_page', 'The :attribute must be a number.');
    else if (Number(perPage) < 1) out.add('per_page', 'The :attribute must be at least 1.');
    else pageSize = Number(perPage);
  }
  if (!missing(readStatus) && readStatus !== 'read' && readStatus !== 'unread') out.add('read_status', 'The selected :attribute is invalid.');
  for (const field of ['check_irregular_traffic', 'include_ip_addresses'] as const) {
    const value = body[field];
    if (!missing(value) && typeof value !== 'string' && typeof value !== 'boolean' && typeof value !== 'number') {
      out.add(field, 'The :attribute must be a string.');
    }
  }

  if (out.failed || startDate === undefined || endDate === undefined) return { ok: false, errors: out.errors };
  const ip = body.include_ip_addresses;
  return {
    ok: true,
    value: {
      startDate,
      endDate,
      sortKey: sortKey as SortKey,
      sortOrder: sortOrder as 'asc' | 'desc',
      perPage: pageSize,
      filters: filters as Record<string, unknown>,
      includeIpAddresses: ip === true || ip === 1 || ip === '1' || ip === 'true',
    },
  };
}

/** get-visits and get-conversions: the same body, with `visit_ids` or `conversion_types`. */
export function validateChildrenBody(
  body: Record<string, unknown>,
  dataset: Dataset,
  kind: 'visits' | 'conversions',
  /** Laravel's `max:N` on the session_ids array; undefined for no limit. */
  maxSessionIds?: number,
): Validated<ChildrenQuery> {
  const out = new Collector();
  const key = missing(body.key) ? 'list' : body.key;
  if (key !== 'list' && key !== 'count') out.add('key', 'The selected :attribute is invalid.');
  const startDate = checkDate(out, dataset, 'start_date', body.start_date, false);
  const endDate = checkDate(out, dataset, 'end_date', body.end_date, false);
  checkRange(out, startDate, endDate);
  const sessionIds = checkIds(out, 'session_ids', body.session_ids, true);
  if (maxSessionIds !== undefined && Array.isArray(body.session_ids) && body.session_ids.length > maxSessionIds) {
    out.add('session_ids', `The :attribute field must not have more than ${maxSessionIds} items.`);
  }

  let ids: number[] | undefined;
  let types: string[] | undefined;
  if (kind === 'visits') {
    ids = checkIds(out, 'visit_ids', body.visit_ids, false);
  } else if (!missing(body.conversion_types)) {
    const value = body.conversion_types;
    if (!Array.isArray(value)) out.add('conversion_types', 'The :attribute must be an array.');
    else {
      value.forEach((item, index) => {
        if (typeof item !== 'string') out.add(`conversion_types.${index}`, 'The :attribute must be a string.');
      });
      types = value.filter((item): item is string => typeof item === 'string');
    }
  }

  if (out.failed || sessionIds === undefined) return { ok: false, errors: out.errors };
  return { ok: true, value: { key: key as 'list' | 'count', startDate, endDate, sessionIds, ids, types } };
}

/** Laravel's 422 `message`: the first error, and how many more there are. */
export function laravelMessage(errors: FieldErrors): string {
  const all = Object.values(errors).flat();
  const more = all.length - 1;
  return more <= 0 ? (all[0] ?? 'The given data was invalid.') : `${all[0]} (and ${more} more ${more === 1 ? 'error' : 'errors'})`;
}
