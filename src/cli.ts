import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { TapError } from './errors.js';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from './log.js';
import { packageManifest } from './paths.js';

export type Mode = 'sync' | 'discover' | 'about' | 'test' | 'test-schema' | 'estimate';
export type AboutFormat = 'text' | 'json' | 'markdown';

/**
 * yargs through its CommonJS build: one bundled file that loads in about a third of the time of
 * its ESM module graph, and the command line is parsed on every run (Meltano runs discovery before
 * every sync).
 */
const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: readonly string[]) => Argv;

/** What the command line asks for; no file has been read yet. */
export interface CliArgs {
  readonly mode: Mode;
  /** `--config` values in order: file paths, or `ENV`. */
  readonly config: readonly string[];
  /** `--catalog`, or the legacy `--properties`. */
  readonly catalog: string | undefined;
  readonly state: string | undefined;
  readonly format: AboutFormat;
  readonly logLevel: LogLevel | undefined;
  readonly debug: boolean;
}

/** The mode a parsed command line asks for: `--about` and `--discover` win over the rest. */
function modeOf(parsed: { about?: boolean | undefined; discover?: boolean | undefined; estimate?: boolean | undefined; test?: string | undefined }): Mode {
  if (parsed.about) return 'about';
  if (parsed.discover) return 'discover';
  if (parsed.estimate) return 'estimate';
  if (parsed.test === undefined) return 'sync';
  return parsed.test === 'schema' ? 'test-schema' : 'test';
}

/**
 * Parses the Singer/Meltano command line. `--about` and `--discover` win over a sync and accept
 * the `--config`, `--catalog` and `--state` that Meltano passes along with them. `--help` and
 * `--version` print and exit 0; anything unknown is a usage error (exit 2).
 */
export async function parseCli(argv: readonly string[]): Promise<CliArgs> {
  const { version } = packageManifest();
  const parsed = await yargs([...argv])
    .scriptName('tap-wemasy')
    .usage('$0 --config CONFIG [--catalog CATALOG] [--state STATE]\n\nSinger tap for Wemasy Analytics: sessions, visits and conversions.')
    .option('config', { alias: 'c', type: 'string', array: true, description: 'Config JSON file; repeat to merge (later wins); ENV reads TAP_WEMASY_* variables' })
    .option('catalog', { type: 'string', description: 'Catalog JSON file: selects streams and fields' })
    .option('properties', { alias: 'p', type: 'string', description: 'Legacy name of --catalog' })
    .option('state', { alias: 's', type: 'string', description: 'State JSON file from an earlier run' })
    .option('discover', { alias: 'd', type: 'boolean', description: 'Print the catalog and exit (offline)' })
    .option('about', { type: 'boolean', description: 'Print what the tap is and its settings, and exit' })
    .option('format', { type: 'string', choices: ['text', 'json', 'markdown'], default: 'text', description: 'Format of --about and --estimate' })
    .option('estimate', {
      type: 'boolean',
      description: 'Count the sessions of the range (2 requests) and print the requests and time the sync would take; writes no records and no state (--format json: one JSON document)',
    })
    .option('test', { type: 'string', description: 'Check the connection with one request (or --test=schema: print the SCHEMA messages)' })
    .option('log-level', { type: 'string', description: `Log verbosity: ${LOG_LEVELS.join(', ')} (default info; LOG_LEVEL also works)` })
    .option('debug', { type: 'boolean', description: 'Debug logging, with stack traces' })
    .version(version)
    .help()
    .alias('help', 'h')
    .strict()
    .wrap(100)
    .fail((message, error) => {
      throw error instanceof TapError ? error : new TapError('usage', message ?? error?.message ?? 'invalid command line');
    })
    .parseAsync();

  const rawLevel = parsed['log-level'];
  const logLevel = parseLogLevel(rawLevel);
  if (rawLevel !== undefined && logLevel === undefined) {
    throw new TapError('usage', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const mode = modeOf(parsed);
  if (parsed.test !== undefined && !['', 'all', 'schema'].includes(parsed.test)) {
    throw new TapError('usage', '--test takes no value, or "schema"');
  }
  const config = parsed.config ?? [];
  if ((mode === 'sync' || mode === 'test' || mode === 'test-schema' || mode === 'estimate') && config.length === 0) {
    throw new TapError('usage', '--config is required (a JSON file, or ENV to read TAP_WEMASY_* variables)');
  }
  return {
    mode,
    config,
    catalog: parsed.catalog ?? parsed.properties,
    state: parsed.state,
    format: parsed.format as AboutFormat,
    logLevel: parsed.debug ? 'debug' : logLevel,
    debug: parsed.debug ?? false,
  };
}
