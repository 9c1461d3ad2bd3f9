import type { DateTime, Duration } from 'luxon';
import type { HttpSettings } from '../http/client.js';
import type { JsonObject } from '../json.js';
import type { EngineSettings } from '../sync/stream.js';

// Defined in http/ (which imports nothing from config/); re-exported for the settings' users.
export type { HttpSettings } from '../http/client.js';

/** A session id as the API or the user gave it: the API's own example uses numbers. */
export type SessionId = number | string;

/** Validated, typed settings. Every instant is a UTC luxon DateTime. The sync engine's are among them. */
export interface Settings extends EngineSettings {
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
  /** `--discover` samples the API to add fields the shipped schemas lack (discover.ts). */
  readonly discoverSample: boolean;
  /** Fail the run at the first value that cannot be conformed to its type without loss (sync/conform.ts). */
  readonly strictTypes: boolean;
  readonly http: HttpSettings;
}
