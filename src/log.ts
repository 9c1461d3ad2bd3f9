/**
 * The stderr logger. stdout belongs to Singer messages; every other line goes here.
 *
 * Lines look like `2026-11-29T12:00:00.000Z INFO message key=value`. Every line passes through
 * redaction: each registered secret is replaced by `***` wherever it appears, so a token that
 * ends up in an error message or a server's echo never reaches the terminal.
 */
import { systemClock, type Clock } from './clock.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'critical';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, critical: 50 };

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'critical'];

export type LogContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
  critical(message: string, context?: LogContext): void;
  /** A Singer metric line, `INFO METRIC: {json}`, as the Meltano SDK writes it. */
  metric(metric: Readonly<Record<string, unknown>>): void;
  /** From now on, replace `secret` by `***` in every line. Empty strings are ignored. */
  addSecret(secret: string): void;
}

export function parseLogLevel(text: string | undefined): LogLevel | undefined {
  if (text === undefined) return undefined;
  const lower = text.trim().toLowerCase();
  if (lower === 'warning') return 'warn';
  if (lower === 'fatal') return 'critical';
  return (LOG_LEVELS as readonly string[]).includes(lower) ? (lower as LogLevel) : undefined;
}

function formatContext(context: LogContext | undefined): string {
  if (context === undefined) return '';
  let out = '';
  for (const [key, value] of Object.entries(context)) {
    if (value === undefined) continue;
    const text = String(value);
    out += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return out;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where lines go; defaults to process.stderr. */
  readonly write?: (line: string) => void;
  /** The time of each line; defaults to the system clock. */
  readonly clock?: Pick<Clock, 'nowMs'>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const clock = options.clock ?? systemClock;
  const secrets: string[] = [];

  const redact = (line: string): string => {
    let out = line;
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
  const emit = (lineLevel: LogLevel, message: string, context?: LogContext): void => {
    if (LEVEL_RANK[lineLevel] < LEVEL_RANK[level]) return;
    const text = `${message}${formatContext(context)}`.replace(/\r?\n/g, ' ');
    write(redact(`${new Date(clock.nowMs()).toISOString()} ${lineLevel.toUpperCase()} ${text}\n`));
  };

  return {
    level,
    enabled: (l) => LEVEL_RANK[l] >= LEVEL_RANK[level],
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
    critical: (m, c) => emit('critical', m, c),
    metric: (metric) => {
      if (LEVEL_RANK.info < LEVEL_RANK[level]) return;
      write(redact(`INFO METRIC: ${JSON.stringify(metric)}\n`));
    },
    addSecret: (secret) => {
      if (secret.length > 0 && !secrets.includes(secret)) secrets.push(secret);
    },
  };
}
