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
import type { LogContext, Logger, LogLevel } from '../log.js';
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

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, critical: 50 };
const AIRBYTE_LEVEL: Record<LogLevel, LogLevelName> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', critical: 'FATAL' };

function withContext(message: string, context: LogContext | undefined): string {
  if (context === undefined) return message;
  const parts = Object.entries(context).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${String(value)}`]));
  return parts.length === 0 ? message : `${message} ${parts.join(' ')}`;
}

/** The engine's Logger, writing LOG messages into `output` (the secrets it learns redact every line). */
export function createAirbyteLogger(output: AirbyteOutput, level: LogLevel): Logger {
  const emit = (lineLevel: LogLevel, message: string, context?: LogContext): void => {
    if (LEVEL_RANK[lineLevel] < LEVEL_RANK[level]) return;
    // A log line never waits: its chunk goes out with the next flush, in order with the messages.
    void output.write({ type: 'LOG', log: { level: AIRBYTE_LEVEL[lineLevel], message: withContext(message, context) } })?.catch(() => undefined);
  };
  return {
    level,
    enabled: (l) => LEVEL_RANK[l] >= LEVEL_RANK[level],
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
    critical: (m, c) => emit('critical', m, c),
    metric: (metric) => emit('info', `METRIC: ${JSON.stringify(metric)}`),
    addSecret: (secret) => output.addSecret(secret),
  };
}
