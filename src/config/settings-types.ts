import type { DateTime, Duration } from 'luxon';
import type { JsonObject } from '../json.js';

/** A session id as the API or the user gave it: the API's own example uses numbers. */
export type SessionId = number | string;

/** HTTP behaviour, in the units the code uses. */
export interface HttpSettings {
  readonly requestsPerMinute: number;
  /** The window the server's rate-limit headers count in (the API's is a minute). */
  readonly rateLimitWindowMs: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** First retry delay for faults; doubled each attempt, with jitter. */
  readonly retryBaseDelayMs: number;
  /** Cap of a backoff delay; also the wait after a 429 that carries no Retry-After. */
  readonly retryMaxDelayMs: number;
}

/** Validated, typed settings. Every instant is a UTC luxon DateTime. */
export interface Settings {
  readonly apiToken: string;
  /** API root without a trailing slash, e.g. `https://api.wemasy.nl/api`. */
  readonly baseUrl: string;
  readonly startDate: DateTime;
  readonly endDate: DateTime | undefined;
  /** How long before the moment the run began it ends (records show up late in the API). */
  readonly endLag: Duration;
  /** IANA zone the API reads and writes its zone-less date-times in. */
  readonly timezone: string;
  readonly windowSize: Duration;
  readonly lookbackWindow: Duration;
  /** Widen or narrow windows by their record counts, and end child windows on full batches. */
  readonly adaptiveWindows: boolean;
  readonly windowTargetRecords: number;
  readonly maxWindowSize: Duration;
  readonly sessionIds: readonly SessionId[] | undefined;
  readonly sessionLookback: Duration;
  /** The first batch's size: the batch grows from here (api/batch-size.ts). */
  readonly sessionBatchSize: number;
  readonly maxSessionBatchSize: number;
  readonly sessionFilters: JsonObject;
  readonly sessionsPageSize: number;
  readonly conversionTypes: readonly string[] | undefined;
  /** `--discover` samples the API to add fields the shipped schemas lack (singer/sample.ts). */
  readonly discoverSample: boolean;
  /** Fail the run at the first value that cannot be conformed to its type without loss (sync/conform.ts). */
  readonly strictTypes: boolean;
  readonly http: HttpSettings;
}
