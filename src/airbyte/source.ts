/**
 * The Airbyte face: `source-wemasy spec | check | discover | read`, over the same config, catalog,
 * connection test and sync engine as the Singer face (src/tap.ts). Every line on stdout is an
 * Airbyte message; logs are LOG messages there too (Airbyte reads only stdout).
 *
 * A thin layer on our own core rather than faros-airbyte-cdk (measured, issue 12): the CDK would
 * replace only this protocol layer, not the engine (its streams are read one after another with
 * a per-record cursor; ours advance in step by windows), and it brings 46 packages (172 with the
 * modules it requires without declaring them), a 3x slower `spec`, compressed stream states,
 * Faros-specific messages, no stream statuses, and an "UNLICENSED" package.json.
 */
import { TapError, describeError, exitCodeOf, type ErrorKind } from '../errors.js';
import type { TapIo } from '../io.js';
import { parseLogLevel, type Logger } from '../log.js';
import { parseSourceCli, type SourceArgs } from './cli.js';
import { createAirbyteLogger, createAirbyteOutput, type AirbyteOutput } from './output.js';
import type { FailureType } from './protocol.js';

/** Error kinds the user fixes in the connector's settings, catalog or state. */
const CONFIG_ERRORS: ReadonlySet<ErrorKind> = new Set(['usage', 'config', 'state', 'catalog', 'auth', 'permission', 'request-rejected']);

/** Airbyte's failure_type of an error: config_error the user fixes, transient_error a retry may fix, else system_error. */
export function failureType(error: unknown): FailureType {
  if (!(error instanceof TapError)) return 'system_error';
  if (CONFIG_ERRORS.has(error.kind)) return 'config_error';
  return error.retryable || error.kind === 'interrupted' ? 'transient_error' : 'system_error';
}

/** Runs one source invocation and returns its exit code. Never throws, never calls process.exit. */
export async function runSource(argv: readonly string[], io: TapIo): Promise<number> {
  const output = createAirbyteOutput(io.stdout);
  const log = createAirbyteLogger(output, parseLogLevel(io.env.LOG_LEVEL) ?? 'info');
  try {
    const args = await parseSourceCli(argv);
    await dispatch(args, io, output, log);
    return 0;
  } catch (error) {
    const reason: unknown = io.signal?.aborted ? io.signal.reason : undefined;
    const shown = reason instanceof TapError ? reason : error;
    const bug = !(shown instanceof TapError);
    const stack = shown instanceof Error ? shown.stack : undefined;
    void output.write({
      type: 'TRACE',
      trace: {
        type: 'ERROR',
        emitted_at: io.clock.nowMs(),
        error: {
          message: bug ? `tap-wemasy failed unexpectedly (a bug; please report it): ${describeError(shown)}` : describeError(shown),
          failure_type: failureType(shown),
          // A bug's message is for the report; its stack, for whoever fixes it.
          ...(bug ? { internal_message: describeError(shown), ...(stack === undefined ? {} : { stack_trace: stack }) } : {}),
        },
      },
    });
    return exitCodeOf(shown);
  } finally {
    await output.flush().catch(() => undefined);
  }
}

async function dispatch(args: SourceArgs, io: TapIo, output: AirbyteOutput, log: Logger): Promise<void> {
  switch (args.command) {
    case 'help':
      io.writeStderr(`${args.text}\n`);
      return;
    case 'spec': {
      const { specMessage } = await import('./spec.js');
      await output.write(specMessage());
      return;
    }
    case 'check': {
      const { checkMessage } = await import('./commands.js');
      await output.write(await checkMessage(args.config, io, log));
      return;
    }
    case 'discover': {
      const { catalogMessage } = await import('./commands.js');
      await output.write(await catalogMessage(args.config, io, log));
      return;
    }
    case 'read': {
      const { read } = await import('./read.js');
      await read(args, io, output, log);
    }
  }
}
