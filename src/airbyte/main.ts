#!/usr/bin/env node
import { systemClock } from '../clock.js';
import { TapError } from '../errors.js';
import { runSource } from './source.js';

/**
 * The `source-wemasy` executable (the Airbyte face): wires the real process to runSource and maps
 * the outcome to an exit code. On SIGTERM/SIGINT the run is aborted (no bookmark past what was
 * printed) and the process exits 143/130, within a second even if something hangs.
 */
const controller = new AbortController();

function onSignal(signal: NodeJS.Signals): void {
  if (controller.signal.aborted) return;
  const code = signal === 'SIGINT' ? 130 : 143;
  controller.abort(new TapError('interrupted', `interrupted by ${signal}; the last STATE printed is where the next read resumes`));
  process.exitCode = code;
  systemClock.timer(1000, () => process.exit(code), { unref: true });
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
process.stdout.on('error', () => undefined);

const code = await runSource(process.argv.slice(2), {
  stdout: process.stdout,
  writeStderr: (line) => void process.stderr.write(line),
  env: process.env,
  clock: systemClock,
  signal: controller.signal,
});
process.exitCode = controller.signal.aborted ? (process.exitCode ?? 1) : code;
