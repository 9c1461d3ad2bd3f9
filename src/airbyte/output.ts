/**
 * The Airbyte face's stdout: one JSON line per Airbyte message, and nothing else. Airbyte reads
 * only stdout, so log lines are LOG messages in the same stream, in order with the records.
 *
 * Lines are batched into chunks of about 64 KiB (one `write` per chunk), flushed at once after a
 * STATE; a stream that asks for a pause is waited for (back-pressure), and a reader that went
 * away makes every later write fail with an 'output-closed' error. Every line passes through
 * redaction: a registered secret (the API token) never reaches stdout, whatever carries it.
 */
import type { Writable } from 'node:stream';
import { TapError } from '../errors.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import type { AirbyteMessage, LogLevelName } from './protocol.js';

const CHUNK_BYTES = 64 * 1024;

export interface AirbyteOutput {
  /** Buffers one message; a promise only when the caller must wait (stdout asked for a pause). */
  write(message: AirbyteMessage): Promise<void> | undefined;
  /** Hands every buffered line to stdout and waits until it accepted them. */
  flush(): Promise<void>;
  /** From now on, replace `secret` by `***` in every line. Empty strings are ignored. */
  addSecret(secret: string): void;
}

export function createAirbyteOutput(out: Writable): AirbyteOutput {
  let buffer = '';
  let closedError: TapError | undefined;
  const secrets: string[] = [];
  out.on('error', (error: NodeJS.ErrnoException) => {
    closedError = new TapError('output-closed', error.code === 'EPIPE' ? 'the reader of stdout went away (broken pipe)' : `stdout failed: ${error.message}`, {
      cause: error,
    });
  });
  const waitDrain = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const done = (failed: boolean) => (): void => {
        out.off('drain', onDrain);
        out.off('close', onClose);
        if (failed) reject(closedError ?? new TapError('output-closed', 'stdout was closed'));
        else resolve();
      };
      const onDrain = done(false);
      const onClose = done(true);
      out.once('drain', onDrain);
      out.once('close', onClose);
    });
  const flush = async (): Promise<void> => {
    if (closedError) throw closedError;
    if (buffer.length === 0) return;
    const chunk = buffer;
    buffer = '';
    if (!out.write(chunk)) await waitDrain();
  };
  const redact = (line: string): string => {
    let text = line;
    for (const secret of secrets) text = text.split(secret).join('***');
    return text;
  };
  return {
    write(message) {
      if (closedError) return Promise.reject(closedError);
      buffer += `${redact(JSON.stringify(message))}\n`;
      return message.type === 'STATE' || buffer.length >= CHUNK_BYTES ? flush() : undefined;
    },
    flush,
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
