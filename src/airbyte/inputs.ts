/**
 * The files `read` is given: the configured catalog (`--catalog`) and the incoming state
 * (`--state`), in the forms Airbyte writes them. Shapes are checked here; what the values mean
 * (known streams, fields, bookmark instants) is checked by the engine as for the Singer face.
 * Errors name the file and the place, one line each.
 */
import { readFile } from 'node:fs/promises';
import { TapError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import type { SyncMode } from './protocol.js';

/** One stream of a configured catalog. */
export interface ConfiguredAirbyteStream {
  readonly name: string;
  readonly schema: JsonObject;
  readonly syncMode: SyncMode;
  readonly cursorField: readonly string[] | undefined;
}

async function readJson(path: string, kind: 'catalog' | 'state'): Promise<JsonValue | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TapError(kind, `${kind} ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read'}`);
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new TapError(kind, `${kind} ${path}: is not valid JSON`);
  }
}

/** Reads a ConfiguredAirbyteCatalog: `{"streams": [{"stream": {"name", "json_schema"}, "sync_mode", ...}]}`. */
export async function loadConfiguredCatalog(path: string): Promise<ConfiguredAirbyteStream[]> {
  const fail = (problem: string): never => {
    throw new TapError('catalog', `catalog ${path}: ${problem}`);
  };
  const raw = await readJson(path, 'catalog');
  if (!isJsonObject(raw) || !Array.isArray(raw.streams)) return fail('must be a configured catalog, a JSON object with a "streams" list');
  return raw.streams.map((entry, i) => {
    const stream = isJsonObject(entry) ? entry.stream : undefined;
    if (!isJsonObject(entry) || !isJsonObject(stream) || typeof stream.name !== 'string') return fail(`streams[${i}] needs "stream": {"name": ...}`);
    const { name, json_schema: schema } = stream;
    if (!isJsonObject(schema)) return fail(`stream ${name}: "stream.json_schema" must be an object`);
    const mode = entry.sync_mode ?? 'full_refresh';
    if (mode !== 'full_refresh' && mode !== 'incremental') return fail(`stream ${name}: sync_mode must be "full_refresh" or "incremental"`);
    const cursor = entry.cursor_field;
    if (cursor !== undefined && !(Array.isArray(cursor) && cursor.every((part) => typeof part === 'string'))) {
      return fail(`stream ${name}: cursor_field must be a list of strings`);
    }
    return { name, schema, syncMode: mode, cursorField: cursor };
  });
}

function stateError(path: string, problem: string): TapError {
  return new TapError('state', `state ${path}: ${problem}`);
}

/** The stream states of one AirbyteStateMessage (STREAM or GLOBAL), or the legacy value (LEGACY). */
function fromMessage(message: JsonObject, where: string, path: string): { streams: [string, JsonValue][] } | { legacy: JsonValue } {
  const streamState = (value: JsonValue | undefined, at: string): [string, JsonValue][] => {
    const descriptor = isJsonObject(value) ? value.stream_descriptor : undefined;
    if (!isJsonObject(value) || !isJsonObject(descriptor) || typeof descriptor.name !== 'string') {
      throw stateError(path, `${at} needs "stream_descriptor": {"name": ...}`);
    }
    return value.stream_state === undefined || value.stream_state === null ? [] : [[descriptor.name, value.stream_state]];
  };
  switch (message.type) {
    case 'STREAM':
      return { streams: streamState(message.stream, `${where}.stream`) };
    case 'GLOBAL': {
      const global = message.global;
      if (!isJsonObject(global) || !Array.isArray(global.stream_states)) throw stateError(path, `${where}.global needs a "stream_states" list`);
      return { streams: global.stream_states.flatMap((state, i) => streamState(state, `${where}.global.stream_states[${i}]`)) };
    }
    case 'LEGACY':
      return { legacy: message.data ?? {} };
    default:
      throw stateError(path, `${where}.type must be STREAM, GLOBAL or LEGACY`);
  }
}

/** A legacy state: the Singer state `{"bookmarks": {...}}` the Singer face writes (empty: no bookmarks). */
function legacyState(value: JsonValue, path: string): JsonObject {
  if (isJsonObject(value) && (value.bookmarks !== undefined || Object.keys(value).length === 0)) return { bookmarks: {}, ...value };
  throw stateError(path, 'a legacy state must be {"bookmarks": {...}} (the state of tap-wemasy), or a list of per-stream STATE messages');
}

/**
 * Reads `--state` into the Singer state value the engine takes, from every form Airbyte passes:
 * - a list of per-stream states `[{"type": "STREAM", "stream": {"stream_descriptor", "stream_state"}}]`
 *   (what this source emits): each stream_state is that stream's bookmark;
 * - a list with one GLOBAL state: its `stream_states`, the same way (`shared_state` is not used);
 * - a legacy state: `{"bookmarks": {...}}` as the Singer face writes it, bare or as the `data` of
 *   a `{"type": "LEGACY"}` state.
 * An empty file is an empty state. A per-stream state must carry `replication_key_value`: a
 * bookmark that silently means "start again" would resync the whole range.
 */
export async function loadIncomingState(path: string, log: Logger): Promise<JsonObject> {
  const raw = await readJson(path, 'state');
  if (raw === undefined) return { bookmarks: {} };
  const messages = Array.isArray(raw) ? raw : isJsonObject(raw) && typeof raw.type === 'string' ? [raw] : undefined;
  if (messages === undefined) {
    log.info(`state ${path}: reading a legacy state`);
    return legacyState(raw, path);
  }
  const bookmarks: JsonObject = {};
  let form = 'per-stream';
  for (const [i, message] of messages.entries()) {
    if (!isJsonObject(message)) throw stateError(path, `[${i}] must be a state message object`);
    const found = fromMessage(message, `[${i}]`, path);
    if ('legacy' in found) {
      if (messages.length > 1) throw stateError(path, 'a LEGACY state cannot be mixed with other states');
      log.info(`state ${path}: reading a legacy state`);
      return legacyState(found.legacy, path);
    }
    if (message.type === 'GLOBAL') form = 'global';
    for (const [name, state] of found.streams) {
      if (!isJsonObject(state) || typeof state.replication_key_value !== 'string') {
        throw stateError(path, `the stream_state of ${name} must be {"replication_key": ..., "replication_key_value": "<instant>"}`);
      }
      bookmarks[name] = state;
    }
  }
  log.info(`state ${path}: reading a ${form} state`, { streams: Object.keys(bookmarks).join(',') || 'none' });
  return { bookmarks };
}
