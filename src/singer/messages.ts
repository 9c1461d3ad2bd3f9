import type { JsonObject } from '../json.js';

/** The JSON Schema of one stream, as carried by a SCHEMA message. */
export type JsonSchema = JsonObject;

/** `{"bookmarks": {...}}` plus whatever else an earlier run or orchestrator kept in the state. */
export interface TapState {
  readonly bookmarks: Readonly<Record<string, Bookmark | JsonObject>>;
  readonly [key: string]: unknown;
}

export interface Bookmark {
  readonly replication_key: string;
  /** UTC instant (RFC 3339, `Z`) through which the stream is complete. */
  readonly replication_key_value: string;
}

export interface SchemaMessage {
  readonly type: 'SCHEMA';
  readonly stream: string;
  readonly schema: JsonSchema;
  readonly key_properties: readonly string[];
  readonly bookmark_properties: readonly string[];
}

export interface RecordMessage {
  readonly type: 'RECORD';
  readonly stream: string;
  readonly record: JsonObject;
  readonly time_extracted: string;
}

export interface StateMessage {
  readonly type: 'STATE';
  readonly value: TapState;
}

/** Only the three core message types: strict targets (pipelinewise) reject any other. */
export type SingerMessage = SchemaMessage | RecordMessage | StateMessage;
