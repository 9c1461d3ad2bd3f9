#!/usr/bin/env node
import { systemClock } from './clock.js';
import { TapError } from './errors.js';
import { runTap } from './tap.js';

/**
 * The `tap-wemasy` executable: wires the real process to runTap and maps the outcome to an exit
 * code. The only place that knows about signals and the process's exit.
 *
 * On SIGTERM/SIGINT the run is aborted: requests and waits stop, no bookmark is written past what
 * was emitted, stdout holds only whole lines, and the process exits non-zero (130/143) within
 * two seconds even if something hangs.
 */
const GRACE_MS = 1000;

/** Runs the tap on the real process; the run's state lives here, not in the module. */
async function main(): Promise<void> {
  const controller = new AbortController();
  /** Set once runTap has returned (and so has logged why the run ended). */
  let finished = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) return;
    const code = signal === 'SIGINT' ? 130 : 143;
    const reason = new TapError('interrupted', `interrupted by ${signal}; the last STATE written is where the next run resumes`);
    controller.abort(reason);
    process.exitCode = code;
    systemClock.timer(
      GRACE_MS,
      () => {
        // runTap is still stuck (e.g. writing to a reader that stopped reading): say why before leaving.
        if (!finished) process.stderr.write(`${new Date(systemClock.nowMs()).toISOString()} CRITICAL ${reason.message}\n`);
        process.exit(code);
      },
      { unref: true },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A reader that goes away (`| head`) is not a crash: the writer reports it and the run ends.
  process.stdout.on('error', () => undefined);

  const code = await runTap(process.argv.slice(2), {
    stdout: process.stdout,
    writeStderr: (line) => void process.stderr.write(line),
    env: process.env,
    clock: systemClock,
    signal: controller.signal,
  });
  finished = true;
  // Aborted: onSignal has set 130 or 143.
  if (!controller.signal.aborted) setExitCode(code);
}

/** (A function of its own: require-atomic-updates takes `process`, read before runTap's await, for stale state.) */
function setExitCode(code: number): void {
  process.exitCode = code;
}

await main();
