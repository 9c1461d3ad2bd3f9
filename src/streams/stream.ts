import type { DateTime } from 'luxon';
import type { BatchSizer } from '../api/batch-size.js';
import type { WemasyApi } from '../api/wemasy.js';
import type { Clock } from '../clock.js';
import type { Settings } from '../config/settings-types.js';
import type { Logger } from '../log.js';
import type { JsonSchema } from '../singer/messages.js';
import type { StreamDefinition } from '../singer/catalog.js';
import { readPackageJson } from '../paths.js';
import type { StreamReader } from '../sync/stream.js';
import type { SessionIdSource, SessionIndex } from './session-ids.js';

/**
 * A Wemasy stream: what the catalog shows of it, and how it reads its windows in a run. One
 * stream is one file in this folder, its schema in `schemas/`, and one line in `index.ts`.
 */
export interface WemasyStream extends StreamDefinition {
  /** The stream's reader for one run. */
  open(run: RunContext): StreamReader;
}

/** What the streams of one run share: the API client, the settings, and the session ids. */
export interface RunContext {
  readonly api: WemasyApi;
  readonly settings: Settings;
  readonly log: Logger;
  readonly clock: Clock;
  /** The run's end (runEnd): no listing reaches past it. */
  readonly end: DateTime;
  /** Where streams read by session id get their ids: the index, or `session_ids` from the config. */
  readonly sessionIds: SessionIdSource;
  /** The sessions listed so far; undefined when `session_ids` are configured. */
  readonly index: SessionIndex | undefined;
  /** Session ids per request, learned as the run goes (api/batch-size.ts). */
  readonly batchSizer: BatchSizer;
  /** The streams read by session id that started in this run (for the summary). */
  readonly readingByIds: Set<string>;
  /** Lines for the end of the run, about what the streams read by session id learned. */
  summary(): string[];
}

/** The shipped JSON Schema of a stream (`schemas/<name>.json`), without the `$schema` keyword. */
export function shippedSchema(name: string): JsonSchema {
  const { $schema: _ignored, ...schema } = readPackageJson(`schemas/${name}.json`) as JsonSchema;
  return schema;
}
