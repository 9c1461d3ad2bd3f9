/**
 * Validates the merged raw config against `schemas/config.json` and turns it into typed Settings.
 *
 * Every problem is collected and reported in ONE TapError('config') line that names each setting,
 * so a user fixes their config in one go. The token's value is never part of a message: for
 * `api_token` the message only says it is missing, empty or of the wrong type. Messages are
 * worded in settings-messages.ts; single-setting checks live in settings-checks.ts.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { DateTime, Duration } from 'luxon';
import { TapError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { formatInstant, isPositive, isValidZone, isZero, parseDuration, parseInstant } from '../time/iso.js';
import { orList } from './names.js';
import { checkBaseUrl, numbersFromStrings, uniqueIds, unknownSettings } from './settings-checks.js';
import { REDACTED, describeSchemaError, show } from './settings-messages.js';
import { configSchema, settingNames } from './spec.js';
import type { SessionId, Settings } from './settings-types.js';

export { redactConfig } from './settings-messages.js';

export interface ParseSettingsOptions {
  /** The run's "now": start_date may not be after it. */
  readonly now: DateTime;
  readonly log: Logger;
}

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

/** A value the schema check guaranteed; a failure here is a bug in this module. */
function ensure<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`internal error: setting ${name} was not converted`);
  return value;
}

/** The settings after the schema check, and every problem found, one list per setting. */
class SettingsReader {
  private readonly problems = new Map<string, string[]>();

  constructor(private readonly data: JsonObject) {}

  report(setting: string, message: string): void {
    const list = this.problems.get(setting) ?? [];
    if (!list.includes(message)) list.push(message);
    this.problems.set(setting, list);
  }

  /** A setting's value when it passed the schema (only those are looked at further). */
  passed(name: string): JsonValue | undefined {
    return this.problems.has(name) ? undefined : this.data[name];
  }

  text(name: string): string | undefined {
    const value = this.passed(name);
    return typeof value === 'string' ? value : undefined;
  }

  number(name: string): number | undefined {
    const value = this.passed(name);
    return typeof value === 'number' ? value : undefined;
  }

  /** api_token: surrounding whitespace (a pasted newline) is dropped; nothing else is fixed. */
  token(): string | undefined {
    const token = this.text('api_token')?.trim();
    if (token === '') this.report('api_token', 'api_token: is empty (only whitespace)');
    else if (token !== undefined && /[^\x21-\x7e]/.test(token)) {
      this.report('api_token', 'api_token: must be printable ASCII without spaces or line breaks');
    }
    return token;
  }

  /** The timezone when it is known; with a bad zone, dates are still checked for syntax (in UTC). */
  timezone(): { timezone: string | undefined; zoneOk: boolean } {
    const timezone = this.text('timezone');
    const zoneOk = timezone !== undefined && isValidZone(timezone);
    if (timezone !== undefined && !zoneOk) {
      this.report('timezone', `timezone: ${show(timezone)} is not a known IANA time zone (e.g. "Europe/Amsterdam" or "UTC")`);
    }
    return { timezone, zoneOk };
  }

  instant(name: string, zone: string): DateTime | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const parsed = parseInstant(value, zone);
    if (parsed === undefined) {
      this.report(name, `${name}: ${show(value)} is not an ISO 8601 date or date-time (e.g. "2026-01-01" or "2026-01-01T00:00:00Z")`);
    }
    return parsed;
  }

  /** start_date and end_date, compared with now and each other when the zone is known. */
  dates(zone: string, zoneOk: boolean, now: DateTime): { startDate: DateTime | undefined; endDate: DateTime | undefined } {
    const startDate = this.instant('start_date', zone);
    const endDate = this.instant('end_date', zone);
    const startText = show(this.text('start_date'));
    if (zoneOk && startDate !== undefined && startDate > now) {
      this.report('start_date', `start_date: ${startText} is in the future (now is ${formatInstant(now)})`);
    }
    if (zoneOk && startDate !== undefined && endDate !== undefined && endDate <= startDate) {
      this.report('end_date', `end_date: ${show(this.text('end_date'))} must be after start_date ${startText}`);
    }
    return { startDate, endDate };
  }

  duration(name: string, allowZero: boolean): Duration | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const parsed = parseDuration(value);
    if (parsed === undefined) {
      this.report(name, `${name}: ${show(value)} is not an ISO 8601 duration (e.g. "P1D", "PT6H" or "PT30M")`);
    } else if (!isPositive(parsed) && !(allowZero && isZero(parsed))) {
      this.report(name, `${name}: ${show(value)} must be ${allowZero ? 'zero or longer' : 'longer than zero'}`);
      return undefined;
    }
    return parsed;
  }

  baseUrl(): string | undefined {
    const text = this.text('base_url');
    if (text === undefined) return undefined;
    const checked = checkBaseUrl(text);
    if ('url' in checked) return checked.url;
    this.report('base_url', `base_url: ${checked.problem}`);
    return undefined;
  }

  /** session_ids in the order given, each once; numbers beyond 2^53 are refused (JSON lost digits). */
  sessionIds(): SessionId[] | undefined {
    const raw = this.passed('session_ids');
    if (!Array.isArray(raw)) return undefined;
    const ids: SessionId[] = [];
    raw.forEach((id, index) => {
      if (typeof id === 'number' && !Number.isSafeInteger(id)) {
        this.report('session_ids', `session_ids[${index}]: ${show(id)} is too large to be read exactly from JSON; give it as a string`);
      } else if (typeof id === 'number' || typeof id === 'string') {
        ids.push(id);
      }
    });
    return uniqueIds(ids);
  }

  conversionTypes(): string[] | undefined {
    const raw = this.passed('conversion_types');
    return Array.isArray(raw) ? uniqueIds(raw.filter((type): type is string => typeof type === 'string')) : undefined;
  }

  /** Throws the one-line TapError listing every problem (typos first, then in schema order). */
  throwProblems(typos: readonly string[]): void {
    if (this.problems.size === 0) return;
    const ordered = [...typos, ...settingNames.filter((name) => this.problems.has(name)), ...this.problems.keys()];
    const lines = [...new Set(ordered)].flatMap((name) => this.problems.get(name) ?? []);
    let message = `invalid config: ${lines.join('; ')}`;
    // Belt and braces: a token pasted into another setting is not echoed either.
    const token = this.data.api_token;
    if (typeof token === 'string' && token.trim().length >= 8) message = message.split(token.trim()).join(REDACTED);
    throw new TapError('config', message);
  }
}

/** `raw` without nulls (Meltano drops them too), numbers from strings, defaults filled in. */
function prepare(raw: JsonObject): JsonObject {
  // fromEntries, not assignment: a "__proto__" key from JSON.parse stays a plain (unknown) key.
  const data: JsonObject = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== null));
  numbersFromStrings(data);
  for (const name of settingNames) {
    const fallback = configSchema.properties[name]?.default;
    if (data[name] === undefined && fallback !== undefined) data[name] = structuredClone(fallback);
  }
  return data;
}

/**
 * Validates `raw` (the merged `--config` sources) and converts it to Settings.
 * `null` values count as unset (Meltano drops them too). An unknown key close to a known
 * setting is an error naming it (a typo); other unknown keys are a warning (config/names.ts).
 * @throws TapError('config') listing every problem, one setting at a time, on one line.
 */
export function parseSettings(raw: JsonObject, options: ParseSettingsOptions): Settings {
  const data = prepare(raw);
  const typos = unknownSettings(data, options.log); // keys outside the schema: untouched by prepare
  const reader = new SettingsReader(data);
  for (const [name, near] of typos) reader.report(name, `${name}: unknown setting (did you mean ${orList(near)}?)`);
  const validate = validator();
  if (!validate(data)) {
    for (const error of validate.errors ?? []) reader.report(...describeSchemaError(error, data));
  }
  const apiToken = reader.token();
  const { timezone, zoneOk } = reader.timezone();
  const { startDate, endDate } = reader.dates(zoneOk ? (timezone ?? 'UTC') : 'UTC', zoneOk, options.now);
  const durations = {
    windowSize: reader.duration('window_size', false),
    endLag: reader.duration('end_lag', true),
    lookbackWindow: reader.duration('lookback_window', true),
    sessionLookback: reader.duration('session_lookback', false),
    maxWindowSize: reader.duration('max_window_size', false),
    rateLimitWindow: reader.duration('rate_limit_window', false),
  };
  const baseUrl = reader.baseUrl();
  const sessionIds = reader.sessionIds();
  const conversionTypes = reader.conversionTypes();
  const rawFilters = reader.passed('session_filters');
  reader.throwProblems(typos.map(([name]) => name));
  return settingsOf(reader, {
    apiToken: ensure(apiToken, 'api_token'),
    baseUrl: ensure(baseUrl, 'base_url'),
    startDate: ensure(startDate, 'start_date'),
    endDate,
    timezone: ensure(timezone, 'timezone'),
    sessionIds,
    conversionTypes,
    sessionFilters: ensure(isJsonObject(rawFilters) ? rawFilters : undefined, 'session_filters'),
    ...durations,
  });
}

type Checked = Pick<Settings, 'apiToken' | 'baseUrl' | 'startDate' | 'endDate' | 'timezone' | 'sessionIds' | 'conversionTypes' | 'sessionFilters'> &
  Record<'windowSize' | 'endLag' | 'lookbackWindow' | 'sessionLookback' | 'maxWindowSize' | 'rateLimitWindow', Duration | undefined>;

/** The Settings of a config that passed every check. */
function settingsOf(reader: SettingsReader, checked: Checked): Settings {
  const number = (name: string): number => ensure(reader.number(name), name);
  const seconds = (name: string): number => number(name) * 1000;
  return {
    ...checked,
    endLag: ensure(checked.endLag, 'end_lag'),
    windowSize: ensure(checked.windowSize, 'window_size'),
    lookbackWindow: ensure(checked.lookbackWindow, 'lookback_window'),
    adaptiveWindows: reader.passed('adaptive_windows') !== false,
    windowTargetRecords: number('window_target_records'),
    maxWindowSize: ensure(checked.maxWindowSize, 'max_window_size'),
    sessionLookback: ensure(checked.sessionLookback, 'session_lookback'),
    sessionBatchSize: number('session_batch_size'),
    maxSessionBatchSize: number('max_session_batch_size'),
    sessionsPageSize: number('sessions_page_size'),
    discoverSample: reader.passed('discover_sample') === true,
    strictTypes: reader.passed('strict_types') === true,
    http: {
      requestsPerMinute: number('requests_per_minute'),
      rateLimitWindowMs: Math.max(1000, ensure(checked.rateLimitWindow, 'rate_limit_window').toMillis()),
      timeoutMs: Math.max(1, Math.round(seconds('request_timeout'))),
      maxRetries: number('max_retries'),
      retryBaseDelayMs: Math.round(seconds('retry_base_delay')),
      retryMaxDelayMs: Math.round(seconds('retry_max_delay')),
    },
  };
}
