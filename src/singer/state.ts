import { readFile } from 'node:fs/promises';
import type { DateTime } from 'luxon';
import { safeJsonErrorMessage } from '../config/load.js';
import { TapError } from '../errors.js';
import { isJsonObject, type JsonObject } from '../json.js';
import { isStreamName, type StreamName } from '../streams/definitions.js';
import { formatInstant, parseInstant } from '../time/iso.js';
import type { TapState } from './messages.js';

function stateError(source: string, problem: string): TapError {
  return new TapError('state', `state ${source}: ${problem}`);
}

/**
 * Validates an input state. Bookmarks of our streams must be `{replication_key,
 * replication_key_value}` with an RFC 3339 instant that carries an offset and is not in the
 * future; anything malformed is an error (never a silent full resync). Keys we do not know (other
 * top-level keys, bookmarks of streams we do not have) are kept as they are, so the state we emit
 * loses nothing an orchestrator put there.
 */
export function parseState(raw: unknown, source: string, now: DateTime): TapState {
  if (!isJsonObject(raw)) throw stateError(source, 'must be a JSON object like {"bookmarks": {...}}');
  const bookmarks = raw.bookmarks ?? {};
  if (!isJsonObject(bookmarks)) throw stateError(source, '"bookmarks" must be an object');
  for (const [stream, bookmark] of Object.entries(bookmarks)) {
    if (!isStreamName(stream)) continue;
    if (!isJsonObject(bookmark)) throw stateError(source, `bookmarks.${stream} must be an object`);
    const value = bookmark.replication_key_value;
    if (bookmark.replication_key !== undefined && typeof bookmark.replication_key !== 'string') {
      throw stateError(source, `bookmarks.${stream}.replication_key must be a string`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())) {
      throw stateError(source, `bookmarks.${stream}.replication_key_value must be an ISO 8601 instant with an offset, got ${JSON.stringify(value)}`);
    }
    const instant = parseInstant(value, 'UTC');
    if (instant === undefined) {
      throw stateError(source, `bookmarks.${stream}.replication_key_value ${JSON.stringify(value)} is not a valid date-time`);
    }
    if (instant > now) {
      throw stateError(source, `bookmarks.${stream}.replication_key_value ${value} is in the future`);
    }
  }
  return { ...raw, bookmarks } as TapState;
}

/** Reads `--state`: an empty file is an empty state (Meltano writes none when it has none). */
export async function loadState(path: string, now: DateTime): Promise<TapState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw stateError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read');
  }
  if (text.trim() === '') return { bookmarks: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw stateError(path, `is not valid JSON (${safeJsonErrorMessage(error, text)})`);
  }
  return parseState(raw, path, now);
}

/** The instant through which `stream` is complete, if the state has one. */
export function readBookmark(state: TapState, stream: StreamName): DateTime | undefined {
  const bookmark = state.bookmarks[stream];
  if (!isJsonObject(bookmark)) return undefined;
  const value = bookmark.replication_key_value;
  return typeof value === 'string' ? parseInstant(value, 'UTC') : undefined;
}

/** A new state whose bookmark for `stream` says it is complete through `through`. Pure. */
export function withBookmark(state: TapState, stream: StreamName, replicationKey: string, through: DateTime): TapState {
  const bookmarks: Record<string, JsonObject> = { ...(state.bookmarks as Record<string, JsonObject>) };
  bookmarks[stream] = { replication_key: replicationKey, replication_key_value: formatInstant(through) };
  return { ...state, bookmarks };
}

