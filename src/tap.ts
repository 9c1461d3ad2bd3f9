import { parseCli, type CliArgs } from './cli.js';
import { TapError, describeError, exitCodeOf } from './errors.js';
import type { TapIo } from './io.js';
import { createLogger, parseLogLevel, type Logger } from './log.js';
import { STREAMS } from './streams/index.js';
import type { WemasyStream } from './streams/stream.js';

export type { TapIo } from './io.js';

/** Environment variables that may hold the token (Meltano sets both). */
const TOKEN_ENV_VARS = ['TAP_WEMASY_API_TOKEN', 'MELTANO_EXTRACT_API_TOKEN'];

/**
 * Runs one tap invocation and returns its exit code. Never throws, never calls process.exit.
 * `streams` are the streams the tap offers (tests add one of their own).
 */
export async function runTap(argv: readonly string[], io: TapIo, streams: readonly WemasyStream[] = STREAMS): Promise<number> {
  let log = createLogger({ level: parseLogLevel(io.env.LOG_LEVEL) ?? 'info', write: io.writeStderr, clock: io.clock });
  const protect = (target: Logger): Logger => {
    for (const name of TOKEN_ENV_VARS) target.addSecret(io.env[name] ?? '');
    return target;
  };
  protect(log);
  let debug = false;
  try {
    const args = await parseCli(argv);
    debug = args.debug;
    if (args.logLevel !== undefined) log = protect(createLogger({ level: args.logLevel, write: io.writeStderr, clock: io.clock }));
    await dispatch(args, io, log, streams);
    return 0;
  } catch (error) {
    const reason: unknown = io.signal?.aborted ? io.signal.reason : undefined;
    const shown = reason instanceof TapError ? reason : error;
    log.critical(describeError(shown));
    if (debug || !(shown instanceof TapError)) {
      if (shown instanceof Error && shown.stack) log.debug(shown.stack);
      if (!(shown instanceof TapError) && !debug) log.error('this is a bug in tap-wemasy; rerun with --debug for details');
    }
    return exitCodeOf(shown);
  }
}

/**
 * Runs the mode the command line asks for. Modules are loaded for the mode that needs them
 * (`--about` and `--discover` never load ajv, the HTTP client or the sync engine), which keeps
 * start-up short: Meltano runs discovery before every sync.
 */
async function dispatch(args: CliArgs, io: TapIo, log: Logger, streams: readonly WemasyStream[]): Promise<void> {
  switch (args.mode) {
    case 'about': {
      const { renderAbout } = await import('./about.js');
      io.stdout.write(`${renderAbout(args.format)}\n`);
      return;
    }
    case 'discover': {
      // Offline unless the config turns discover_sample on (discover.ts).
      const { discover } = await import('./discover.js');
      io.stdout.write(`${JSON.stringify(await discover(args.config, io, log, streams), null, 2)}\n`);
      return;
    }
    default: {
      const { runConnected } = await import('./commands.js');
      await runConnected(args, io, log, streams);
    }
  }
}
