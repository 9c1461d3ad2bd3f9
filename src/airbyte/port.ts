/**
 * The engine's output port, spoken in Airbyte: the engine writes Singer-shaped messages (SCHEMA,
 * RECORD, STATE with the whole state) and this port prints what Airbyte expects instead.
 * - RECORD → RECORD `{stream, data, emitted_at}` (milliseconds of the record's extraction time);
 * - STATE → one per-stream STATE for each stream whose bookmark moved since it was last printed,
 *   its stream_state the stream's bookmark, with the count of records since that stream's last STATE;
 * - SCHEMA → nothing (Airbyte has no such message; the catalog carries the schemas);
 * - stream status: STARTED before the sync, RUNNING at a stream's first record or bookmark,
 *   COMPLETE once its bookmark reaches the sync's end (or when the sync ends, for a stream with
 *   nothing to read), INCOMPLETE for the streams not complete when the sync fails.
 */
import type { Clock } from '../clock.js';
import type { JsonObject } from '../json.js';
import { bookmarkOf, type EnginePort, type SingerMessage, type TapState } from './engine.js';
import type { AirbyteOutput } from './output.js';
import { streamStatus, type StreamStatus } from './protocol.js';

export interface AirbytePort extends EnginePort {
  /** Prints a status for every stream of the run not COMPLETE yet. */
  statusAll(status: StreamStatus): Promise<void>;
}

interface StreamProgress {
  running: boolean;
  complete: boolean;
  /** The bookmark last printed, as JSON text. */
  printed: string | undefined;
  /** Records since this stream's last STATE. */
  records: number;
}

export function createAirbytePort(
  output: AirbyteOutput,
  streams: readonly string[],
  initial: TapState,
  options: { readonly clock: Clock; /** The sync's end: a bookmark there completes its stream. */ readonly endMs: number },
): AirbytePort {
  const { clock } = options;
  const progress = new Map<string, StreamProgress>(
    streams.map((name) => {
      const bookmark = bookmarkOf(initial, name);
      return [name, { running: false, complete: false, printed: bookmark === undefined ? undefined : JSON.stringify(bookmark), records: 0 }];
    }),
  );
  const counts = { SCHEMA: 0, RECORD: 0, STATE: 0 };
  const running = (name: string, stream: StreamProgress): void => {
    if (stream.running) return;
    stream.running = true;
    void output.write(streamStatus(name, 'RUNNING', clock.nowMs()))?.catch(() => undefined);
  };

  const writeRecord = (stream: string, record: JsonObject, extractedAt: string): Promise<void> | undefined => {
    const state = progress.get(stream);
    if (state !== undefined) {
      running(stream, state);
      state.records += 1;
    }
    counts.RECORD += 1;
    return output.write({ type: 'RECORD', record: { stream, data: record, emitted_at: Date.parse(extractedAt) } });
  };

  const writeState = async (state: TapState): Promise<void> => {
    counts.STATE += 1;
    await writeStreamStates(output, progress, state, { clock, endMs: options.endMs, running });
  };

  return {
    counts,
    write(message: SingerMessage) {
      if (message.type === 'RECORD') return writeRecord(message.stream, message.record, message.time_extracted);
      if (message.type === 'STATE') return writeState(message.value);
      counts.SCHEMA += 1;
      return undefined;
    },
    writeRecord,
    flush: () => output.flush(),
    async statusAll(status) {
      for (const [name, stream] of progress) {
        if (stream.complete) continue;
        if (status === 'COMPLETE') stream.complete = true;
        await output.write(streamStatus(name, status, clock.nowMs()));
      }
      await output.flush();
    },
  };
}

/**
 * One per-stream STATE for each stream whose bookmark moved (with the records since its last
 * one), and COMPLETE for a stream whose bookmark reached the sync's end.
 */
async function writeStreamStates(
  output: AirbyteOutput,
  progress: ReadonlyMap<string, StreamProgress>,
  state: TapState,
  options: { readonly clock: Clock; readonly endMs: number; readonly running: (name: string, stream: StreamProgress) => void },
): Promise<void> {
  for (const [name, stream] of progress) {
    const bookmark = bookmarkOf(state, name);
    const text = bookmark === undefined ? undefined : JSON.stringify(bookmark);
    if (bookmark === undefined || text === stream.printed) continue;
    options.running(name, stream);
    stream.printed = text;
    const recordCount = stream.records;
    stream.records = 0;
    await output.write({
      type: 'STATE',
      state: { type: 'STREAM', stream: { stream_descriptor: { name }, stream_state: bookmark }, sourceStats: { recordCount } },
    });
    const through = typeof bookmark.replication_key_value === 'string' ? Date.parse(bookmark.replication_key_value) : Number.NaN;
    if (through >= options.endMs) {
      stream.complete = true;
      await output.write(streamStatus(name, 'COMPLETE', options.clock.nowMs()));
    }
  }
}
