/**
 * Validates the merged raw config against `schemas/config.json` and turns it into typed Settings.
 *
 * Every problem is collected and reported in ONE TapError('config') line that names each setting,
 * so a user fixes their config in one go. The token's value is never part of a message: for
 * `api_token` the message only says it is missing, empty or of the wrong type.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DateTime, Duration } from 'luxon';
import { TapError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { formatInstant, isPositive, isValidZone, isZero, parseDuration, parseInstant } from '../time/iso.js';
import { nearestSettings, orList } from './names.js';
import { configSchema, secretSettings, settingNames, settingSchema, typesOf } from './spec.js';
import type { SessionId, Settings } from './settings-types.js';

export interface ParseSettingsOptions {
  /** The run's "now": start_date may not be after it. */
  readonly now: DateTime;
  readonly log: Logger;
}

const REDACTED = '***';
/** Longest excerpt of a user's value quoted in a message. */
const MAX_SHOWN_CHARS = 80;

let compiled: ValidateFunction | undefined;

/** The schema validator, compiled on first use and kept. */
function validator(): ValidateFunction {
  if (compiled === undefined) {
    // validateSchema off: schemas/config.json ships with the tap and a unit test checks it against
    // the JSON Schema meta-schema; compiling the meta-schema on every run cost ~25 ms of start-up.
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, validateSchema: false });
    ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' }); // annotation only: never print the value
    compiled = ajv.compile(configSchema);
  }
  return compiled;
}

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
function show(value: unknown): string {
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
function describeSchemaError(error: ErrorObject, data: JsonObject): [string, string] {
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

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The API root without a trailing slash, or the reason it cannot be used. */
function checkBaseUrl(text: string): { readonly url: string } | { readonly problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `${show(text)} is not a valid URL` };
  }
  if (url.username !== '' || url.password !== '') {
    return { problem: 'must not contain a user name or password (the token is sent in a header)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: `${show(text)} must be an https:// URL` };
  }
  if (url.search !== '' || url.hash !== '') {
    return { problem: `${show(text)} must not have a query string or a fragment` };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      problem:
        `${show(text)} uses plain http:// to a host that is not loopback; use https:// ` +
        '(the API token must not cross a network in clear text)',
    };
  }
  return { url: url.href.replace(/\/+$/, '') };
}

/**
 * Unknown keys: those close to a known setting (a typo: did you mean ...) and the others
 * (extras an orchestrator may pass), which are only a warning.
 */
function unknownSettings(data: JsonObject, log: Logger): [string, string[]][] {
  const unknown = Object.keys(data).filter((name) => settingSchema(name) === undefined);
  const typos: [string, string[]][] = [];
  const far: string[] = [];
  for (const name of unknown) {
    const near = nearestSettings(name, settingNames);
    if (near.length > 0) typos.push([name, near]);
    else far.push(name);
  }
  if (far.length > 0) log.warn(`ignoring unknown settings: ${far.join(', ')}`);
  return typos;
}

/**
 * A `number` setting given as a numeric string ("30", "2.5") becomes that number: Meltano passes
 * such settings as strings (they are `kind: string` in meltano.yml, because Meltano 2.15 has no
 * decimal kind and 4.x crashes on a decimal from the environment). Integer settings are `kind:
 * integer`, which Meltano passes as numbers. Anything else is left for the schema check to report.
 */
function numbersFromStrings(data: JsonObject): void {
  for (const name of settingNames) {
    const value = data[name];
    const setting = settingSchema(name);
    if (typeof value !== 'string' || setting === undefined) continue;
    const types = typesOf(setting);
    if (types.includes('string') || !types.includes('number')) continue;
    const text = value.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) continue;
    const number = Number(text);
    if (Number.isFinite(number)) data[name] = number;
  }
}

/** Ids in the order given, each once (`1` and `"1"` are the same session). */
function uniqueIds<T extends SessionId>(ids: readonly T[]): T[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = String(id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A value the schema check guaranteed; a failure here is a bug in this module. */
function ensure<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`internal error: setting ${name} was not converted`);
  return value;
}

/**
 * Validates `raw` (the merged `--config` sources) and converts it to Settings.
 * `null` values count as unset (Meltano drops them too). An unknown key close to a known
 * setting is an error naming it (a typo); other unknown keys are a warning (config/names.ts).
 * @throws TapError('config') listing every problem, one setting at a time, on one line.
 */
export function parseSettings(raw: JsonObject, options: ParseSettingsOptions): Settings {
  const { now, log } = options;
  // fromEntries, not assignment: a "__proto__" key from JSON.parse stays a plain (unknown) key.
  const data: JsonObject = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null));
  const typos = unknownSettings(data, log);
  numbersFromStrings(data);
  for (const name of settingNames) {
    const fallback = configSchema.properties[name]?.default;
    if (data[name] === undefined && fallback !== undefined) data[name] = structuredClone(fallback);
  }

  const problems = new Map<string, string[]>();
  const report = (setting: string, message: string): void => {
    const list = problems.get(setting) ?? [];
    if (!list.includes(message)) list.push(message);
    problems.set(setting, list);
  };
  for (const [name, near] of typos) report(name, `${name}: unknown setting (did you mean ${orList(near)}?)`);
  const validate = validator();
  if (!validate(data)) {
    for (const error of validate.errors ?? []) report(...describeSchemaError(error, data));
  }
  // From here on only settings that passed the schema are looked at.
  const passed = (name: string): JsonValue | undefined => (problems.has(name) ? undefined : data[name]);
  const text = (name: string): string | undefined => {
    const value = passed(name);
    return typeof value === 'string' ? value : undefined;
  };
  const number = (name: string): number | undefined => {
    const value = passed(name);
    return typeof value === 'number' ? value : undefined;
  };

  // api_token: surrounding whitespace (a pasted newline) is dropped; nothing else is fixed.
  let apiToken = text('api_token')?.trim();
  if (apiToken !== undefined) {
    if (apiToken === '') report('api_token', 'api_token: is empty (only whitespace)');
    else if (/[^\x21-\x7e]/.test(apiToken)) {
      report('api_token', 'api_token: must be printable ASCII without spaces or line breaks');
    }
  }

  const timezone = text('timezone');
  const zoneOk = timezone !== undefined && isValidZone(timezone);
  if (timezone !== undefined && !zoneOk) {
    report('timezone', `timezone: ${show(timezone)} is not a known IANA time zone (e.g. "Europe/Amsterdam" or "UTC")`);
  }
  // With a bad zone the dates are still checked for syntax, but not compared with anything.
  const parseZone = zoneOk ? timezone : 'UTC';
  const instant = (name: string): DateTime | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = parseInstant(value, parseZone);
    if (parsed === undefined) {
      report(
        name,
        `${name}: ${show(value)} is not an ISO 8601 date or date-time (e.g. "2026-01-01" or "2026-01-01T00:00:00Z")`,
      );
    }
    return parsed;
  };
  const startText = text('start_date');
  const endText = text('end_date');
  const startDate = instant('start_date');
  const endDate = instant('end_date');
  if (zoneOk && startDate !== undefined && startDate > now) {
    report('start_date', `start_date: ${show(startText)} is in the future (now is ${formatInstant(now)})`);
  }
  if (zoneOk && startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    report('end_date', `end_date: ${show(endText)} must be after start_date ${show(startText)}`);
  }

  const duration = (name: string, allowZero: boolean): Duration | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const parsed = parseDuration(value);
    if (parsed === undefined) {
      report(name, `${name}: ${show(value)} is not an ISO 8601 duration (e.g. "P1D", "PT6H" or "PT30M")`);
    } else if (!isPositive(parsed) && !(allowZero && isZero(parsed))) {
      report(name, `${name}: ${show(value)} must be ${allowZero ? 'zero or longer' : 'longer than zero'}`);
      return undefined;
    }
    return parsed;
  };
  const windowSize = duration('window_size', false);
  const endLag = duration('end_lag', true);
  const lookbackWindow = duration('lookback_window', true);
  const sessionLookback = duration('session_lookback', false);
  const maxWindowSize = duration('max_window_size', false);
  const rateLimitWindow = duration('rate_limit_window', false);

  let baseUrl: string | undefined;
  const baseUrlText = text('base_url');
  if (baseUrlText !== undefined) {
    const checked = checkBaseUrl(baseUrlText);
    if ('url' in checked) baseUrl = checked.url;
    else report('base_url', `base_url: ${checked.problem}`);
  }

  let sessionIds: SessionId[] | undefined;
  const rawIds = passed('session_ids');
  if (Array.isArray(rawIds)) {
    const ids: SessionId[] = [];
    rawIds.forEach((id, index) => {
      if (typeof id === 'number' && !Number.isSafeInteger(id)) {
        report(
          'session_ids',
          `session_ids[${index}]: ${show(id)} is too large to be read exactly from JSON; give it as a string`,
        );
      } else if (typeof id === 'number' || typeof id === 'string') {
        ids.push(id);
      }
    });
    sessionIds = uniqueIds(ids);
  }
  const rawTypes = passed('conversion_types');
  const conversionTypes = Array.isArray(rawTypes)
    ? uniqueIds(rawTypes.filter((type): type is string => typeof type === 'string'))
    : undefined;
  const rawFilters = passed('session_filters');
  const sessionFilters = isJsonObject(rawFilters) ? rawFilters : undefined;

  if (problems.size > 0) {
    const ordered = [...typos.map(([name]) => name), ...settingNames.filter((name) => problems.has(name)), ...problems.keys()];
    const lines = [...new Set(ordered)].flatMap((name) => problems.get(name) ?? []);
    let message = `invalid config: ${lines.join('; ')}`;
    // Belt and braces: a token pasted into another setting is not echoed either.
    const token = data.api_token;
    if (typeof token === 'string' && token.trim().length >= 8) message = message.split(token.trim()).join(REDACTED);
    throw new TapError('config', message);
  }

  apiToken = ensure(apiToken, 'api_token');
  return {
    apiToken,
    baseUrl: ensure(baseUrl, 'base_url'),
    startDate: ensure(startDate, 'start_date'),
    endDate,
    endLag: ensure(endLag, 'end_lag'),
    timezone: ensure(timezone, 'timezone'),
    windowSize: ensure(windowSize, 'window_size'),
    lookbackWindow: ensure(lookbackWindow, 'lookback_window'),
    adaptiveWindows: passed('adaptive_windows') !== false,
    windowTargetRecords: ensure(number('window_target_records'), 'window_target_records'),
    maxWindowSize: ensure(maxWindowSize, 'max_window_size'),
    sessionIds,
    sessionLookback: ensure(sessionLookback, 'session_lookback'),
    sessionBatchSize: ensure(number('session_batch_size'), 'session_batch_size'),
    maxSessionBatchSize: ensure(number('max_session_batch_size'), 'max_session_batch_size'),
    sessionFilters: ensure(sessionFilters, 'session_filters'),
    sessionsPageSize: ensure(number('sessions_page_size'), 'sessions_page_size'),
    conversionTypes,
    discoverSample: passed('discover_sample') === true,
    strictTypes: passed('strict_types') === true,
    http: {
      requestsPerMinute: ensure(number('requests_per_minute'), 'requests_per_minute'),
      rateLimitWindowMs: Math.max(1000, ensure(rateLimitWindow, 'rate_limit_window').toMillis()),
      timeoutMs: Math.max(1, Math.round(ensure(number('request_timeout'), 'request_timeout') * 1000)),
      maxRetries: ensure(number('max_retries'), 'max_retries'),
      retryBaseDelayMs: Math.round(ensure(number('retry_base_delay'), 'retry_base_delay') * 1000),
      retryMaxDelayMs: Math.round(ensure(number('retry_max_delay'), 'retry_max_delay') * 1000),
    },
  };
}
