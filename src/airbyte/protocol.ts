/**
 * The Airbyte protocol messages this source prints (airbyte_protocol.v0.yaml, AirbyteMessage),
 * typed as far as the source uses them. Every line of the Airbyte face's stdout is one of these.
 */
import type { JsonObject } from '../json.js';

export type LogLevelName = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
export type FailureType = 'config_error' | 'system_error' | 'transient_error';
export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
export type SyncMode = 'full_refresh' | 'incremental';

export interface StreamDescriptor {
  readonly name: string;
}

export interface AirbyteStream {
  readonly name: string;
  readonly json_schema: JsonObject;
  readonly supported_sync_modes: readonly SyncMode[];
  readonly source_defined_cursor: boolean;
  readonly default_cursor_field: readonly string[];
  readonly source_defined_primary_key: readonly (readonly string[])[];
  readonly is_resumable: boolean;
}

export type AirbyteMessage =
  | { readonly type: 'LOG'; readonly log: { readonly level: LogLevelName; readonly message: string; readonly stack_trace?: string } }
  | { readonly type: 'SPEC'; readonly spec: { readonly documentationUrl?: string; readonly connectionSpecification: JsonObject; readonly supportsIncremental: boolean; readonly protocol_version: string } }
  | { readonly type: 'CONNECTION_STATUS'; readonly connectionStatus: { readonly status: 'SUCCEEDED' | 'FAILED'; readonly message: string } }
  | { readonly type: 'CATALOG'; readonly catalog: { readonly streams: readonly AirbyteStream[] } }
  | { readonly type: 'RECORD'; readonly record: { readonly stream: string; readonly data: JsonObject; readonly emitted_at: number } }
  | {
      readonly type: 'STATE';
      readonly state: {
        readonly type: 'STREAM';
        readonly stream: { readonly stream_descriptor: StreamDescriptor; readonly stream_state: JsonObject };
        readonly sourceStats: { readonly recordCount: number };
      };
    }
  | { readonly type: 'TRACE'; readonly trace: TraceBody };

export type TraceBody =
  | {
      readonly type: 'STREAM_STATUS';
      readonly emitted_at: number;
      readonly stream_status: { readonly stream_descriptor: StreamDescriptor; readonly status: StreamStatus };
    }
  | {
      readonly type: 'ERROR';
      readonly emitted_at: number;
      readonly error: {
        readonly message: string;
        readonly failure_type: FailureType;
        readonly internal_message?: string;
        readonly stack_trace?: string;
        readonly stream_descriptor?: StreamDescriptor;
      };
    };

/** The protocol version whose schema the messages follow (airbyte_protocol.v0.yaml `version`). */
export const PROTOCOL_VERSION = '0.3.2';

export function streamStatus(name: string, status: StreamStatus, emittedAt: number): AirbyteMessage {
  return { type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: { name }, status } } };
}
