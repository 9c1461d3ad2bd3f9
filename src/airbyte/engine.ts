/**
 * The Airbyte face's one door into the engine: config loading and validation, the catalog's
 * streams and schemas, the connection test and the sync itself, exactly as the Singer face uses
 * them. Every import of the engine's modules (commands, sync, singer, streams) is in this file,
 * so that a change of the engine's API touches the Airbyte face here and nowhere else; the rest
 * of src/airbyte/ speaks only of the types below.
 */
import type { DateTime } from 'luxon';
import { connect, syncSelected } from '../commands.js';
import { loadRawConfig } from '../config/load.js';
import { parseSettings } from '../config/settings.js';
import type { Settings } from '../config/settings-types.js';
import type { TapIo } from '../io.js';
import type { JsonObject } from '../json.js';
import type { Logger } from '../log.js';
import { resolveSelection, type StreamSelection } from '../singer/catalog.js';
import type { SingerMessage, TapState } from '../singer/messages.js';
import { discover } from '../discover.js';
import { parseState } from '../singer/state.js';
import type { MessageWriter } from '../singer/writer.js';
import { STREAMS } from '../streams/index.js';
import type { WemasyStream } from '../streams/stream.js';
import { runEnd } from '../sync/sync.js';
import { toApiRange } from '../time/api-time.js';

export type { Settings, SingerMessage, TapState };

/** The engine's output port: what it writes its messages, records and bookmarks into. */
export type EnginePort = MessageWriter;

/** What the Airbyte face needs to know of a stream. */
export interface StreamFacts {
  readonly name: string;
  readonly schema: JsonObject;
  readonly keyProperties: readonly string[];
  readonly replicationKey: string;
}

/** Reads `--config` (one file) and validates it; the token is registered as a secret first. */
export async function loadSettings(configPath: string, io: TapIo, log: Logger): Promise<Settings> {
  const raw = await loadRawConfig([configPath], io.env, log);
  if (typeof raw.api_token === 'string') log.addSecret(raw.api_token);
  const settings = parseSettings(raw, { now: io.clock.now(), log });
  log.addSecret(settings.apiToken);
  return settings;
}

/** The Singer face's `--test`: one request for one second before the run's end. */
export async function testConnection(settings: Settings, io: TapIo, log: Logger): Promise<void> {
  const { api } = connect(settings, io, log);
  const end = runEnd(settings, io.clock.now());
  await api.checkConnection(toApiRange({ start: end.minus({ seconds: 1 }), end }, settings.timezone));
}

/** The streams `--discover` gives (sampled when the config turns discover_sample on). */
export async function discoverStreams(configPath: string, io: TapIo, log: Logger): Promise<StreamFacts[]> {
  const catalog = await discover([configPath], io, log, STREAMS);
  return catalog.streams.map((entry) => ({
    name: entry.stream,
    schema: entry.schema,
    keyProperties: entry.key_properties,
    replicationKey: entry.replication_key,
  }));
}

/** A stream of the configured catalog: its name and the schema Airbyte sent (deselected fields removed). */
export interface ConfiguredStream {
  readonly name: string;
  readonly schema: JsonObject;
}

/** The engine's selection for the configured streams (in sync order), by the Singer catalog rules. */
export interface Selection {
  readonly streams: readonly StreamFacts[];
  readonly selections: readonly StreamSelection<WemasyStream>[];
}

/**
 * Resolves the configured streams as a Singer catalog: a field of the shipped schema that the
 * configured schema lacks was deselected in Airbyte (it is then `selected: false`, and fields the
 * API adds later are not delivered either); a field the configured schema adds (a sampled one)
 * is kept. Unknown streams and schemas without the key or cursor field are catalog errors.
 */
export function selectStreams(configured: readonly ConfiguredStream[], source: string): Selection {
  const entries = configured.map(({ name, schema }) => {
    const stream = STREAMS.find((s) => s.name === name);
    if (stream === undefined) return { tap_stream_id: name, schema };
    const shipped = stream.schema().properties as JsonObject;
    const given = (schema.properties ?? {}) as JsonObject;
    const dropped = Object.keys(shipped).filter((field) => !Object.hasOwn(given, field));
    return {
      tap_stream_id: name,
      schema: { ...schema, properties: { ...given, ...Object.fromEntries(dropped.map((field) => [field, shipped[field]])) } },
      metadata: dropped.map((field) => ({ breadcrumb: ['properties', field], metadata: { selected: false } })),
    };
  });
  const selections = resolveSelection({ streams: entries }, source, STREAMS);
  return {
    selections,
    streams: selections.map((s) => ({ name: s.def.name, schema: s.schema, keyProperties: s.def.keyProperties, replicationKey: s.def.replicationKey })),
  };
}

/** Validates a state value `{"bookmarks": {...}}` as the Singer face does. */
export function validateState(raw: unknown, source: string, io: TapIo): TapState {
  return parseState(raw, source, io.clock.now(), STREAMS.map((s) => s.name));
}

/** The bookmark of `stream` in a state, as the state holds it. */
export function bookmarkOf(state: TapState, stream: string): JsonObject | undefined {
  return state.bookmarks[stream] as JsonObject | undefined;
}

/** `state` without the bookmarks of `streams` (full refresh: they start again from start_date). */
export function withoutBookmarks(state: TapState, streams: readonly string[]): TapState {
  const bookmarks = Object.fromEntries(Object.entries(state.bookmarks).filter(([name]) => !streams.includes(name)));
  return { ...state, bookmarks };
}

/** The instant (ms) a sync starting at `startedAt` ends: a stream whose bookmark reaches it is done. */
export function syncEndMs(settings: Settings, startedAt: DateTime): number {
  return runEnd(settings, startedAt).toMillis();
}

/** Runs the sync engine over `selection` from `state`, writing into `port`; returns the final state. */
export async function sync(
  selection: Selection,
  state: TapState,
  run: { readonly settings: Settings; readonly startedAt: DateTime; readonly port: EnginePort },
  io: TapIo,
  log: Logger,
): Promise<TapState> {
  return syncSelected(selection.selections, state, { settings: run.settings, writer: run.port, io, log, startedAt: run.startedAt });
}
