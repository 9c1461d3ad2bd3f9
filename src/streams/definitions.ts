import { readPackageJson } from '../paths.js';
import type { JsonSchema } from '../singer/messages.js';

export type StreamName = 'sessions' | 'visits' | 'conversions';

/** What the catalog and the sync engine know about a stream: facts, no behaviour. */
export interface StreamDefinition {
  readonly name: StreamName;
  readonly keyProperties: readonly string[];
  /** The bookmarked field; the bookmark value itself is a window edge, not a record value. */
  readonly replicationKey: string;
  /** The API endpoint, for logs and metrics. */
  readonly endpoint: string;
  readonly description: string;
}

export const SESSIONS_PATH = '/services/analytics/v1/project/sessions';
export const VISITS_PATH = '/services/analytics/v1/sessions/get-visits';
export const CONVERSIONS_PATH = '/services/analytics/v1/sessions/get-conversions';

/** Every stream, in sync order: sessions first, so its listing also feeds the session ids. */
export const STREAMS: readonly StreamDefinition[] = [
  {
    name: 'sessions',
    keyProperties: ['id'],
    replicationKey: 'created_at',
    endpoint: SESSIONS_PATH,
    description: 'Sessions of the project, by creation time (list-sessions, every page).',
  },
  {
    name: 'visits',
    keyProperties: ['id'],
    replicationKey: 'created_at',
    endpoint: VISITS_PATH,
    description: 'Page visits inside the sessions, by visit time (get-visits, key: list).',
  },
  {
    name: 'conversions',
    keyProperties: ['id'],
    replicationKey: 'created_at',
    endpoint: CONVERSIONS_PATH,
    description: 'Conversions inside the sessions, by conversion time (get-conversions, key: list).',
  },
];

export const STREAM_NAMES: readonly StreamName[] = STREAMS.map((s) => s.name);

export function isStreamName(name: string): name is StreamName {
  return (STREAM_NAMES as readonly string[]).includes(name);
}

/** The shipped JSON Schema of a stream (`schemas/<name>.json`), without the `$schema` keyword. */
export function shippedSchema(name: StreamName): JsonSchema {
  const { $schema: _ignored, ...schema } = readPackageJson(`schemas/${name}.json`) as JsonSchema;
  return schema;
}
