import { open } from 'node:fs/promises';
import type { DateTime } from 'luxon';
import split2 from 'split2';
import { TapError } from '../errors.js';
import { isJsonObject, safeJsonErrorMessage, type JsonObject } from '../json.js';
import type { Logger } from '../log.js';
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
export function parseState(raw: unknown, source: string, now: DateTime, streams: readonly string[]): TapState {
  if (!isJsonObject(raw)) throw stateError(source, 'must be a JSON object like {"bookmarks": {...}}');
  const bookmarks = raw.bookmarks ?? {};
  if (!isJsonObject(bookmarks)) throw stateError(source, '"bookmarks" must be an object');
  for (const [stream, bookmark] of Object.entries(bookmarks)) {
    if (!streams.includes(stream)) continue;
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

/** What a `--state` file held, once read. */
export interface LoadedState {
  readonly state: TapState;
  /** The file had nothing in it (whitespace at most). */
  readonly empty: boolean;
}

/** Singer message types other than STATE: a line of a tap's output that carries no state. */
const OTHER_MESSAGES: ReadonlySet<string> = new Set(['SCHEMA', 'RECORD', 'ACTIVATE_VERSION', 'BATCH']);

/**
 * The state value inside one JSON value of a `--state` file, or why there is none:
 * - `{"type": "STATE", "value": {...}}`, a STATE message (a line of a tap's output): its value;
 * - `{"singer_state": {...}}`, what `meltano state get` prints: its `singer_state`;
 * - any other object without a string `type`: the state value itself (what targets echo).
 */
function unwrap(raw: unknown): { value: unknown; wrapper?: 'STATE message' | 'nested STATE message' | 'Meltano state' } | { other: string } {
  if (!isJsonObject(raw)) return { value: raw };
  if (raw.type === 'STATE' && 'value' in raw) {
    if (!('bookmarks' in raw)) return { value: raw.value, wrapper: 'STATE message' };
    // A state into which an earlier version nested a whole STATE message: its own bookmarks are
    // the newer ones, the envelope goes.
    const { type: _type, value: _value, ...state } = raw;
    return { value: state, wrapper: 'nested STATE message' };
  }
  if (typeof raw.type === 'string' && OTHER_MESSAGES.has(raw.type)) return { other: raw.type };
  const keys = Object.keys(raw);
  if (keys.length === 1 && keys[0] === 'singer_state') return { value: raw.singer_state, wrapper: 'Meltano state' };
  return { value: raw };
}

const UNWRAPPED = {
  'STATE message': 'reading the value of the STATE message it holds',
  'Meltano state': 'reading "singer_state" of the Meltano state it holds',
  'nested STATE message': 'dropping the "type" and "value" of a STATE message nested into it by an earlier run',
} as const;

/** The lines of a file, read as a stream (a tap's output can be large), without a BOM. */
async function* fileLines(path: string): AsyncGenerator<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw stateError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read');
  }
  const lines = handle.createReadStream({ encoding: 'utf8' }).pipe(split2());
  let first = true;
  try {
    for await (const line of lines as AsyncIterable<string>) {
      yield first && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
      first = false;
    }
  } catch (error) {
    if (error instanceof TapError) throw error;
    throw stateError(path, 'cannot be read');
  } finally {
    lines.destroy();
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads `--state` in every form users have (see unwrap()): one JSON document (the state value,
 * a STATE message, `meltano state get` output; pretty-printed or not), or a file of JSON lines
 * such as a tap's or a target's stdout, of which the last state counts. An empty file is an
 * empty state. Whatever else is malformed is an error: never a silent full resync.
 */
export async function loadState(path: string, now: DateTime, log: Logger, streams: readonly string[]): Promise<LoadedState> {
  let count = 0;
  let lineNumber = 0;
  let firstText = '';
  /** Set when the first line is not JSON: the file is one document over several lines. */
  let documentLines: string[] | undefined;
  let last: { value: unknown; line: number } | undefined;
  for await (const line of fileLines(path)) {
    lineNumber += 1;
    if (documentLines !== undefined) {
      documentLines.push(line);
      continue;
    }
    if (line.trim() === '') continue;
    count += 1;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      if (count > 1) throw stateError(path, `line ${lineNumber} is not valid JSON`);
      documentLines = [line];
      continue;
    }
    if (count === 1) firstText = line;
    const found = unwrap(raw);
    if ('other' in found) continue;
    if (count > 1 && !isJsonObject(found.value)) throw stateError(path, `line ${lineNumber} is not a JSON object`);
    last = { value: found.value, line: lineNumber };
  }
  if (documentLines !== undefined) return { state: parseDocument(documentLines.join('\n'), path, now, log, streams), empty: false };
  if (count === 0) return { state: { bookmarks: {} }, empty: true };
  if (count === 1) return { state: parseDocument(firstText, path, now, log, streams), empty: false };
  if (last === undefined) throw stateError(path, `none of its ${count} JSON lines is a STATE message or a state`);
  const state = parseState(last.value, path, now, streams);
  log.info(`state ${path}: reading the last state of its ${count} JSON lines (line ${last.line})`);
  return { state, empty: false };
}

/** One JSON document: a state, a STATE message or Meltano's `{"singer_state": ...}`. */
function parseDocument(text: string, path: string, now: DateTime, log: Logger, streams: readonly string[]): TapState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw stateError(path, `is not valid JSON (${safeJsonErrorMessage(error, text)})`);
  }
  const found = unwrap(raw);
  if ('other' in found) throw stateError(path, `holds a ${found.other} message, not a state or a STATE message`);
  const state = parseState(found.value, path, now, streams);
  if (found.wrapper !== undefined) log.info(`state ${path}: ${UNWRAPPED[found.wrapper]}`);
  return state;
}

/**
 * A warning when the incoming state gives none of the selected streams a bookmark: the run is a
 * full sync from start_date, which is right for a first run and a surprise otherwise (the state
 * of another tap, or a file that lost its content).
 */
export function warnWithoutBookmarks(
  loaded: LoadedState,
  path: string,
  streams: readonly string[],
  startDate: DateTime,
  timezone: string,
  log: Logger,
): void {
  if (streams.length === 0 || streams.some((stream) => readBookmark(loaded.state, stream) !== undefined)) return;
  // start_date as the user thinks of it: in the project's zone, with its offset.
  const start = startDate.setZone(timezone).toISO({ suppressMilliseconds: true }) ?? formatInstant(startDate);
  const fullSync = `a full sync from start_date ${start} follows`;
  if (loaded.empty) {
    log.warn(`state ${path} is empty, so no stream has a bookmark: ${fullSync}`);
    return;
  }
  const others = Object.keys(loaded.state.bookmarks).filter((name) => !streams.includes(name));
  const has = others.length === 0 ? 'it has no bookmarks' : `it has bookmarks for ${others.join(', ')} only: the state of another tap?`;
  log.warn(`state ${path} has no bookmark for ${streams.join(', ')} (${has}): ${fullSync}`);
}

/** The instant through which `stream` is complete, if the state has one. */
export function readBookmark(state: TapState, stream: string): DateTime | undefined {
  const bookmark = state.bookmarks[stream];
  if (!isJsonObject(bookmark)) return undefined;
  const value = bookmark.replication_key_value;
  return typeof value === 'string' ? parseInstant(value, 'UTC') : undefined;
}

/** A new state whose bookmark for `stream` says it is complete through `through`. Pure. */
export function withBookmark(state: TapState, stream: string, replicationKey: string, through: DateTime): TapState {
  const bookmarks: Record<string, JsonObject> = { ...(state.bookmarks as Record<string, JsonObject>) };
  bookmarks[stream] = { replication_key: replicationKey, replication_key_value: formatInstant(through) };
  return { ...state, bookmarks };
}

