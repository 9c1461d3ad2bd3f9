/**
 * What every bench section shares: the options, the scratch directory, the printed report, the
 * summary of goals and the crashes that make the run exit non-zero.
 */
import { TAP_BIN } from './fixtures.js';
import type { ChildRun } from './measure.js';
import { seconds, verdict } from './table.js';
import { tail } from './measure.js';

export const bench = {
  /** `--quick`: fewer repetitions, smaller sizes. */
  quick: false,
  /** The run's scratch directory (removed at the end). */
  tmp: '',
};

/** Problems that make the run a crash (exit 1): a child that failed or hung, a server error. */
export const crashes: string[] = [];
/** Every line printed, for .bench/last-run.md. */
export const output: string[] = [];
export const summary: { section: string; goal: string; measured: string; verdict: string }[] = [];

export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
  output.push(text);
}

export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** Records a goal for the summary; returns its verdict cell. */
export function goal(section: string, goalText: string, measured: string, ok: boolean | undefined): string {
  const v = verdict(ok);
  summary.push({ section, goal: goalText, measured, verdict: v });
  return v;
}

/** Records a crash when the child did not exit 0; returns whether it did. */
export function checkRun(what: string, run: ChildRun): boolean {
  if (run.code === 0 && !run.timedOut) return true;
  const how = run.timedOut ? `timed out after ${seconds(run.wallMs)} s` : `exited with ${run.code ?? run.signal}`;
  crashes.push(`${what}: ${how}\n${tail(run.stderr)}`);
  progress(`${what}: ${how}`);
  return false;
}

/** The arguments of `node` running the built tap with a config. */
export function tapArgs(config: string, ...more: string[]): string[] {
  return [TAP_BIN, '--config', config, ...more];
}
