import type { Duration } from 'luxon';
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
  // startDate, endDate, endLag, timezone (the zone the API reads and writes its zone-less
  // date-times in), windowSize, lookbackWindow, adaptiveWindows, windowTargetRecords,
  // maxWindowSize and strictTypes: from EngineSettings (sync/stream.ts).
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
  readonly http: HttpSettings;
}
