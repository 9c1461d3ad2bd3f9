import { readFile } from 'node:fs/promises';
import { TapError } from '../errors.js';
import { isJsonObject, safeJsonErrorMessage, type JsonObject, type JsonValue } from '../json.js';
import type { JsonSchema, SchemaMessage } from './messages.js';

/**
 * What the catalog knows of a stream: facts, no behaviour. Every tap built on this core passes
 * its own list; nothing here knows a stream by name.
 */
export interface StreamDefinition {
  readonly name: string;
  readonly keyProperties: readonly string[];
  /** The bookmarked field; the bookmark value itself is a window edge, not a record value. */
  readonly replicationKey: string;
  readonly description: string;
  /** The stream's JSON Schema as the tap ships it. */
  schema(): JsonSchema;
}

/** One catalog entry as `--discover` prints it. */
export interface CatalogEntry {
  readonly tap_stream_id: string;
  readonly stream: string;
  readonly schema: JsonSchema;
  readonly key_properties: readonly string[];
  readonly replication_key: string;
  readonly replication_method: 'INCREMENTAL';
  readonly metadata: readonly MetadataEntry[];
}

export interface MetadataEntry {
  readonly breadcrumb: readonly string[];
  readonly metadata: JsonObject;
}

export interface Catalog {
  readonly streams: readonly CatalogEntry[];
}

/** Fields that are always emitted: the key and the replication key. */
export function automaticFields(def: Pick<StreamDefinition, 'keyProperties' | 'replicationKey'>): ReadonlySet<string> {
  return new Set([...def.keyProperties, def.replicationKey]);
}

function schemaProperties(schema: JsonSchema): JsonObject {
  const props = schema.properties;
  return isJsonObject(props) ? props : {};
}

/** The catalog the tap discovers: shipped schemas, standard metadata for every top-level field. */
export function discoverCatalog(streams: readonly StreamDefinition[]): Catalog {
  return {
    streams: streams.map((def) => {
      const schema = def.schema();
      const automatic = automaticFields(def);
      const metadata: MetadataEntry[] = [
        {
          breadcrumb: [],
          metadata: {
            inclusion: 'available',
            'selected-by-default': true,
            'table-key-properties': [...def.keyProperties],
            'forced-replication-method': 'INCREMENTAL',
            'valid-replication-keys': [def.replicationKey],
            'replication-key': def.replicationKey,
          },
        },
        ...Object.keys(schemaProperties(schema)).map((field) => ({
          breadcrumb: ['properties', field],
          metadata: {
            inclusion: automatic.has(field) ? 'automatic' : 'available',
            'selected-by-default': true,
          },
        })),
      ];
      return {
        tap_stream_id: def.name,
        stream: def.name,
        schema,
        key_properties: [...def.keyProperties],
        replication_key: def.replicationKey,
        replication_method: 'INCREMENTAL',
        metadata,
      };
    }),
  };
}

/** What a sync does for one stream, after the catalog's selection is resolved. */
export interface StreamSelection<D extends StreamDefinition = StreamDefinition> {
  readonly def: D;
  /** Full effective schema: the input catalog's (a user may override types), else the shipped one. */
  readonly schema: JsonSchema;
  /** Top-level fields to emit (automatic ones always included). */
  readonly fields: ReadonlySet<string>;
  /**
   * Whether a field the schema does not name is delivered when the API sends it: yes without a
   * catalog, and with one that selects every field of the stream; no when the user deselected some.
   */
  readonly deliverNewFields: boolean;
}

/** Every stream with every field: what a sync without `--catalog` does. */
export function selectAll<D extends StreamDefinition>(streams: readonly D[]): StreamSelection<D>[] {
  return streams.map((def) => {
    const schema = def.schema();
    return { def, schema, fields: new Set(Object.keys(schemaProperties(schema))), deliverNewFields: true };
  });
}

function catalogError(source: string, problem: string): TapError {
  return new TapError('catalog', `catalog ${source}: ${problem}`);
}

function metadataMap(entry: JsonObject, source: string, name: string): Map<string, JsonObject> {
  const map = new Map<string, JsonObject>();
  const list = entry.metadata;
  if (list === undefined) return map;
  if (!Array.isArray(list)) throw catalogError(source, `stream ${name}: "metadata" must be a list`);
  for (const item of list) {
    if (!isJsonObject(item) || !Array.isArray(item.breadcrumb) || !isJsonObject(item.metadata)) {
      throw catalogError(source, `stream ${name}: each metadata entry needs a "breadcrumb" list and a "metadata" object`);
    }
    map.set(JSON.stringify(item.breadcrumb), item.metadata);
  }
  return map;
}

function selectedFlag(value: JsonValue | undefined): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Resolves an input catalog (`--catalog` or `--properties`) into the streams to sync, in sync
 * order, following the Singer/Meltano selection rules: a stream is selected by its `[]` metadata
 * `selected`, else the entry's legacy `selected`, else `selected-by-default`, else yes; a field
 * is never emitted when `unsupported`, always when it is a key or replication field (Meltano
 * writes `selected: false` on those too, ignoring `inclusion`), else by its `selected`, else by
 * `selected-by-default`, else yes. Streams absent from the catalog are not synced.
 */
export function resolveSelection<D extends StreamDefinition>(raw: unknown, source: string, streams: readonly D[]): StreamSelection<D>[] {
  if (!isJsonObject(raw) || !Array.isArray(raw.streams)) {
    throw catalogError(source, 'must be a JSON object with a "streams" list');
  }
  const byName = new Map<string, StreamSelection<D>>();
  for (const entry of raw.streams) {
    if (!isJsonObject(entry)) throw catalogError(source, 'each entry of "streams" must be an object');
    const id = entry.tap_stream_id ?? entry.stream;
    if (typeof id !== 'string') throw catalogError(source, 'an entry has no "tap_stream_id"');
    const def = streams.find((s) => s.name === id);
    if (def === undefined) {
      throw catalogError(source, `unknown stream "${id}" (known: ${streams.map((s) => s.name).join(', ')})`);
    }
    const schema = entry.schema;
    if (!isJsonObject(schema) || !isJsonObject(schema.properties)) {
      throw catalogError(source, `stream ${id}: "schema" must be an object schema with "properties"`);
    }
    const meta = metadataMap(entry, source, id);
    const streamMeta = meta.get('[]') ?? {};
    const streamSelected =
      selectedFlag(streamMeta.selected) ?? selectedFlag(entry.selected) ?? selectedFlag(streamMeta['selected-by-default']) ?? true;

    const properties = schema.properties;
    for (const key of meta.keys()) {
      const crumb = JSON.parse(key) as JsonValue[];
      if (crumb.length >= 2 && crumb[0] === 'properties' && typeof crumb[1] === 'string' && !Object.hasOwn(properties, crumb[1])) {
        throw catalogError(source, `stream ${id}: metadata names field "${crumb[1]}", which its schema does not have`);
      }
    }
    const automatic = automaticFields(def);
    for (const field of automatic) {
      if (!Object.hasOwn(properties, field)) throw catalogError(source, `stream ${id}: the schema lacks the required field "${field}"`);
    }
    if (!streamSelected) continue;

    const fields = new Set<string>();
    for (const field of Object.keys(properties)) {
      const fieldMeta = meta.get(JSON.stringify(['properties', field])) ?? {};
      if (automatic.has(field)) fields.add(field);
      else if (fieldMeta.inclusion === 'unsupported') continue;
      else if (selectedFlag(fieldMeta.selected) ?? selectedFlag(fieldMeta['selected-by-default']) ?? true) fields.add(field);
    }
    byName.set(id, { def, schema, fields, deliverNewFields: fields.size === Object.keys(properties).length });
  }
  return streams.flatMap((def) => byName.get(def.name) ?? []);
}

/** Reads `--catalog`/`--properties`: not found, not JSON and wrong shape are one-line catalog errors. */
export async function loadSelection<D extends StreamDefinition>(path: string, streams: readonly D[]): Promise<StreamSelection<D>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw catalogError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read', );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw catalogError(path, `is not valid JSON (${safeJsonErrorMessage(error, text)})`);
  }
  return resolveSelection(raw, path, streams);
}

/** The SCHEMA message of a selected stream: keys, bookmark property, selected fields only. */
export function schemaMessage(selection: StreamSelection): SchemaMessage {
  const { def } = selection;
  return {
    type: 'SCHEMA',
    stream: def.name,
    schema: emittedSchema(selection),
    key_properties: def.keyProperties,
    bookmark_properties: [def.replicationKey],
  };
}

/** The schema a SCHEMA message carries: the effective schema narrowed to the selected fields. */
export function emittedSchema(selection: StreamSelection): JsonSchema {
  const properties = schemaProperties(selection.schema);
  const kept: JsonObject = {};
  for (const [field, value] of Object.entries(properties)) if (selection.fields.has(field)) kept[field] = value;
  return { ...selection.schema, properties: kept };
}
