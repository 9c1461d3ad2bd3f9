import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { runSource } from '../../src/airbyte/source.js';
import type { Clock } from '../../src/clock.js';
import { collectingStdout } from '../helpers/in-process.js';

/** The Airbyte face's bin, built by `npm test`. */
export const SOURCE_BIN = fileURLToPath(new URL('../../dist/airbyte/main.js', import.meta.url));

/** Loose shapes of what the Airbyte face prints (the protocol schema checks them strictly). */
export interface StreamState {
  stream_descriptor: { name: string };
  stream_state: { replication_key: string; replication_key_value: string };
}
export interface AirbyteMessage {
  type: string;
  log?: { level: string; message: string };
  record?: { stream: string; data: Record<string, unknown>; emitted_at: number };
  state?: { type: string; stream: StreamState; sourceStats: { recordCount: number } };
  trace?: {
    type: string;
    emitted_at: number;
    stream_status?: { stream_descriptor: { name: string }; status: string };
    error?: { message: string; failure_type: string; internal_message?: string };
  };
  spec?: { connectionSpecification: { properties: Record<string, Record<string, unknown>> } & Record<string, unknown> };
  connectionStatus?: { status: string; message: string };
  catalog?: { streams: AirbyteStream[] };
}
export interface AirbyteStream {
  name: string;
  json_schema: { properties: Record<string, unknown> } & Record<string, unknown>;
  supported_sync_modes: string[];
  source_defined_cursor: boolean;
  default_cursor_field: string[];
  source_defined_primary_key: string[][];
}

const protocol = parse(readFileSync(fileURLToPath(new URL('../fixtures/airbyte_protocol.v0.yaml', import.meta.url)), 'utf8')) as { $id: string };
// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
// strict off: the protocol schema carries keywords of its Java code generator (existingJavaType).
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
ajv.addSchema(protocol);

function definition(name: string): ValidateFunction {
  const validate = ajv.getSchema(`${protocol.$id}#/definitions/${name}`);
  if (validate === undefined) throw new Error(`no definition ${name} in airbyte_protocol.v0.yaml`);
  return validate;
}
const airbyteMessage = definition('AirbyteMessage');
const configuredCatalog = definition('ConfiguredAirbyteCatalog');

/** The field that carries a message's body, by type (AirbyteMessage makes none of them required). */
const BODY: Record<string, keyof AirbyteMessage> = {
  LOG: 'log',
  SPEC: 'spec',
  CONNECTION_STATUS: 'connectionStatus',
  CATALOG: 'catalog',
  RECORD: 'record',
  STATE: 'state',
  TRACE: 'trace',
};

/** Every line of `stdout` parsed, each checked against the protocol's AirbyteMessage and carrying its body. */
export function airbyteMessages(stdout: string): AirbyteMessage[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const message = JSON.parse(line) as AirbyteMessage;
      expect(airbyteMessage(message), `${line.slice(0, 300)}\n${ajv.errorsText(airbyteMessage.errors)}`).toBe(true);
      const body = BODY[message.type];
      expect(body, `unexpected message type ${message.type}`).toBeDefined();
      expect(message[body as keyof AirbyteMessage], `${message.type} without "${String(body)}"`).toBeDefined();
      return message;
    });
}

/** Checks a configured catalog the tests give the source against the protocol's schema. */
export function expectConfiguredCatalog(catalog: unknown): void {
  expect(configuredCatalog(catalog), ajv.errorsText(configuredCatalog.errors)).toBe(true);
}

export interface SourceRun {
  code: number;
  stdout: string;
  stderr: string;
  messages: AirbyteMessage[];
  records(stream: string): Record<string, unknown>[];
  /** The last stream_state printed for each stream. */
  bookmarks(): Record<string, StreamState['stream_state']>;
  /** The per-stream STATE messages, as Airbyte would pass them back with --state. */
  states(): { type: string; stream: StreamState }[];
  statuses(): string[];
  errors(): NonNullable<NonNullable<AirbyteMessage['trace']>['error']>[];
}

/** Runs `source-wemasy ...args` in-process through runSource, every printed message validated. */
export async function runSourceInProcess(args: readonly string[], options: { clock: Clock; env?: NodeJS.ProcessEnv }): Promise<SourceRun> {
  const stdout = collectingStdout();
  let stderr = '';
  const code = await runSource(args, {
    stdout,
    writeStderr: (line) => {
      stderr += line;
    },
    env: options.env ?? {},
    clock: options.clock,
  });
  const text = stdout.text();
  const messages = airbyteMessages(text);
  const stateMessages = messages.flatMap((m) => (m.type === 'STATE' && m.state !== undefined ? [m.state] : []));
  return {
    code,
    stdout: text,
    stderr,
    messages,
    records: (stream) => messages.flatMap((m) => (m.type === 'RECORD' && m.record?.stream === stream ? [m.record.data] : [])),
    bookmarks: () => Object.fromEntries(stateMessages.map((s) => [s.stream.stream_descriptor.name, s.stream.stream_state])),
    states: () => {
      const last = new Map(stateMessages.map((s) => [s.stream.stream_descriptor.name, { type: s.type, stream: s.stream }]));
      return [...last.values()];
    },
    statuses: () =>
      messages.flatMap((m) => (m.trace?.stream_status === undefined ? [] : [`${m.trace.stream_status.stream_descriptor.name} ${m.trace.stream_status.status}`])),
    errors: () => messages.flatMap((m) => (m.trace?.error === undefined ? [] : [m.trace.error])),
  };
}

/** A configured catalog of `streams` (all with every discovered field), each in its sync mode. */
export function configuredCatalogOf(discovered: readonly AirbyteStream[], modes: Readonly<Record<string, 'full_refresh' | 'incremental'>>): unknown {
  const catalog = {
    streams: discovered
      .filter((stream) => modes[stream.name] !== undefined)
      .map((stream) => ({
        stream,
        sync_mode: modes[stream.name],
        cursor_field: stream.default_cursor_field,
        destination_sync_mode: 'append',
        primary_key: stream.source_defined_primary_key,
      })),
  };
  expectConfiguredCatalog(catalog);
  return catalog;
}
