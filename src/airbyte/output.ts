/**
 * The Airbyte face's stdout: one JSON line per Airbyte message, and nothing else. Airbyte reads
 * only stdout, so log lines are LOG messages in the same stream, in order with the records.
 *
 * Lines go out through the same chunked, back-pressured line output as the Singer face's
 * (line-output.ts), flushed at once after a STATE. Every line passes through
 * redaction: a registered secret (the API token) never reaches stdout, whatever carries it.
 */
import type { Writable } from 'node:stream';
import { createLineOutput } from '../line-output.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import type { AirbyteMessage, LogLevelName } from './protocol.js';


export interface AirbyteOutput {
  /** Buffers one message; a promise only when the caller must wait (stdout asked for a pause). */
  write(message: AirbyteMessage): Promise<void> | undefined;
  /** Hands every buffered line to stdout and waits until it accepted them. */
  flush(): Promise<void>;
  /** From now on, replace `secret` by `***` in every line. Empty strings are ignored. */
  addSecret(secret: string): void;
}

export function createAirbyteOutput(out: Writable): AirbyteOutput {
  const lines = createLineOutput(out);
  const secrets: string[] = [];
  const redact = (line: string): string => {
    let text = line;
    for (const secret of secrets) text = text.split(secret).join('***');
    return text;
  };
  return {
    write: (message) => lines.append(`${redact(JSON.stringify(message))}\n`, message.type === 'STATE'),
    flush: () => lines.flush(),
    addSecret(secret) {
      // The token as it appears inside a JSON string too (a quote or backslash in it is escaped there).
      for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) if (form.length > 0 && !secrets.includes(form)) secrets.push(form);
    },
  };
}

const AIRBYTE_LEVEL: Readonly<Record<string, LogLevelName>> = { DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', ERROR: 'ERROR', CRITICAL: 'FATAL' };

/**
 * The engine's Logger (src/log.ts: levels, `key=value` context, redaction), its lines written as
 * LOG messages into `output` instead of stderr: `<time> LEVEL text` becomes `{level, message: text}`,
 * and a metric line `INFO METRIC: {...}` an INFO message of that text. A secret the logger learns
 * is also redacted from every other message.
 */
export function createAirbyteLogger(output: AirbyteOutput, level: LogLevel): Logger {
  const logger = createLogger({
    level,
    write: (line) => {
      const text = line.endsWith('\n') ? line.slice(0, -1) : line;
      const parsed = /^\S+ (DEBUG|INFO|WARN|ERROR|CRITICAL) (.*)$/s.exec(text);
      const log = parsed === null ? { level: 'INFO' as const, message: text.replace(/^INFO /, '') } : { level: AIRBYTE_LEVEL[parsed[1] as string] ?? 'INFO', message: parsed[2] as string };
      // A log line never waits: its chunk goes out with the next flush, in order with the messages.
      void output.write({ type: 'LOG', log })?.catch(() => undefined);
    },
  });
  return {
    ...logger,
    addSecret: (secret) => {
      logger.addSecret(secret);
      output.addSecret(secret);
    },
  };
}
