import type { Writable } from 'node:stream';
import { createLineOutput } from '../line-output.js';
import type { JsonObject } from '../json.js';
import type { SingerMessage } from './messages.js';

/**
 * Writes Singer messages to stdout, one JSON line each.
 *
 * Lines are batched into chunks of about 64 KiB (one `write` per chunk, not per record), and a
 * chunk is flushed at once after every STATE so that a bookmark reaches the target promptly.
 * `write` resolves immediately while the stream accepts data and waits for `drain` when it does
 * not (back-pressure), so a slow target slows the tap instead of growing its memory.
 * When the reader goes away (EPIPE), every later call rejects with an 'output-closed' error.
 */
export interface MessageWriter {
  /**
   * Buffers one message. Returns a promise only when the caller must wait (a chunk was handed to
   * stdout and it asked for a pause); otherwise nothing, so the hot path costs no microtask.
   */
  write(message: SingerMessage): Promise<void> | undefined;
  /** write() of a RECORD message without building the message object (the per-record path). */
  writeRecord(stream: string, record: JsonObject, timeExtracted: string): Promise<void> | undefined;
  /** Hands every buffered line to the stream and waits until it accepted them. */
  flush(): Promise<void>;
  /** Number of messages written, by type. */
  readonly counts: Readonly<Record<SingerMessage['type'], number>>;
}


/**
 * Makes RECORD lines, byte for byte what JSON.stringify(message) gives, stringifying only the
 * record: the stream and time_extracted parts repeat from one record to the next and are kept
 * (per writer, not per module).
 */
function recordLines(): (stream: string, record: JsonObject, timeExtracted: string) => string {
  let head = { stream: '', text: '' };
  let tail = { extracted: '', text: '' };
  return (stream, record, timeExtracted) => {
    if (head.stream !== stream) head = { stream, text: `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":` };
    if (tail.extracted !== timeExtracted) {
      tail = { extracted: timeExtracted, text: `,"time_extracted":${JSON.stringify(timeExtracted)}}\n` };
    }
    return head.text + JSON.stringify(record) + tail.text;
  };
}

export function createMessageWriter(out: Writable): MessageWriter {
  const recordLine = recordLines();
  const lines = createLineOutput(out);
  const counts = { SCHEMA: 0, RECORD: 0, STATE: 0 };

  const writeRecord = (stream: string, record: JsonObject, timeExtracted: string): Promise<void> | undefined => {
    counts.RECORD += 1;
    return lines.append(recordLine(stream, record, timeExtracted), false);
  };

  return {
    counts,
    flush: () => lines.flush(),
    write(message) {
      if (message.type === 'RECORD') return writeRecord(message.stream, message.record, message.time_extracted);
      counts[message.type] += 1;
      return lines.append(`${JSON.stringify(message)}\n`, message.type === 'STATE');
    },
    writeRecord,
  };
}
