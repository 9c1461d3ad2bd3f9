import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Running one child process and measuring it: wall time (from spawn to exit, in this process)
 * and peak resident set size (VmHWM / ru_maxrss of the measured program, not of any wrapper).
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the waited
 * child) when it is installed; otherwise /proc/<pid>/status VmHWM is polled every 20 ms (the
 * last reading before the process disappears is kept; a peak in the last 20 ms may be missed).
 */

const GNU_TIME = '/usr/bin/time';

let gnuTimeChecked: boolean | undefined;
/** True when /usr/bin/time is GNU time (accepts -f %M -o FILE). */
export function hasGnuTime(): boolean {
  if (gnuTimeChecked !== undefined) return gnuTimeChecked;
  gnuTimeChecked = false;
  if (existsSync(GNU_TIME)) {
    const probe = spawnSync(GNU_TIME, ['-f', '%M', process.execPath, '-e', '0'], { encoding: 'utf8', timeout: 10_000 });
    gnuTimeChecked = probe.status === 0 && /^\d+\s*$/m.test(probe.stderr);
  }
  return gnuTimeChecked;
}

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly wallMs: number;
  /** Peak RSS in KiB; undefined when it could not be read. */
  readonly peakRssKb: number | undefined;
  /** stdout when `stdout: 'capture'`, else ''. */
  readonly stdout: string;
  /** The last 256 KiB of stderr. */
  readonly stderr: string;
}

export interface ChildOptions {
  /** 'null' sends stdout to /dev/null (as a file: writes are synchronous, nothing is buffered here). */
  readonly stdout: 'null' | 'capture';
  readonly timeoutMs: number;
  /** A scratch directory for the RSS report file. */
  readonly tmpDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** With `stdout: 'capture'`: sees each chunk of stdout as it arrives. */
  readonly onStdout?: (chunk: Buffer) => void;
}

const STDERR_KEEP = 256 * 1024;
let runCounter = 0;
/** Process groups of the children still running (each child leads its own group). */
const live = new Set<number>();

/** Ends every child still running (SIGKILL to its process group): for an interrupted bench. */
export function killChildren(): void {
  for (const pid of live) killGroup(pid);
  live.clear();
}

/**
 * Runs `command args`, measured. Never rejects for the child's own failure; see `code`/`timedOut`.
 * Longer than 60 lines on purpose: one child's whole life (spawn, streams, RSS, timeout, exit) in
 * one closure, so that every path that ends it clears the same timers.
 */
export function runChild(command: string, args: readonly string[], options: ChildOptions): Promise<ChildRun> {
  const useTime = hasGnuTime();
  runCounter += 1;
  const rssFile = join(options.tmpDir, `rss-${process.pid}-${runCounter}.txt`);
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', rssFile, command, ...args]] : [command, [...args]];
  const devNull = options.stdout === 'null' ? openSync('/dev/null', 'w') : undefined;

  return new Promise<ChildRun>((resolve, reject) => {
    const started = process.hrtime.bigint();
    // detached: the child leads its own process group, so a timeout can end it with its wrapper.
    const child = spawn(file, argv, {
      stdio: ['ignore', devNull ?? 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: true,
    });
    if (child.pid !== undefined) live.add(child.pid);
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out.push(chunk);
      options.onStdout?.(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      err += chunk;
      if (err.length > 2 * STDERR_KEEP) err = err.slice(-STDERR_KEEP);
    });

    let polledKb: number | undefined;
    const poller = useTime
      ? undefined
      : setInterval(() => {
          const kb = readVmHwmKb(child.pid);
          if (kb !== undefined) polledKb = Math.max(polledKb ?? 0, kb);
        }, 20);

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);

    child.once('error', (error) => {
      if (child.pid !== undefined) live.delete(child.pid);
      clearTimeout(timer);
      if (poller !== undefined) clearInterval(poller);
      if (devNull !== undefined) closeSync(devNull);
      reject(error);
    });
    child.once('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (child.pid !== undefined) live.delete(child.pid);
      clearTimeout(timer);
      if (poller !== undefined) clearInterval(poller);
      if (devNull !== undefined) closeSync(devNull);
      let peakRssKb = polledKb;
      if (useTime) {
        peakRssKb = readTimeReport(rssFile);
        rmSync(rssFile, { force: true });
      }
      // GNU time exits with the command's status; a command killed by a signal makes it exit 128+n.
      resolve({
        code,
        signal,
        timedOut,
        wallMs,
        peakRssKb,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: err.slice(-STDERR_KEEP),
      });
    });
  });
}

/** Wall time of a short synchronous run (start-up measurements), in ms. */
export function timeSync(command: string, args: readonly string[], timeoutMs: number, cwd?: string): { wallMs: number; code: number | null } {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'ignore'], timeout: timeoutMs, cwd });
  return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, code: result.status };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function readVmHwmKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** GNU time's -o file: optional "Command exited with non-zero status N" lines, then %M. */
function readTimeReport(path: string): number | undefined {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const last = lines[lines.length - 1]?.trim() ?? '';
    return /^\d+$/.test(last) ? Number(last) : undefined;
  } catch {
    return undefined;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The `value` of the tap's `METRIC: {"metric":"record_count",...}` lines, summed (per stream when given). */
export function recordCountFromStderr(stderr: string, stream?: string): number | undefined {
  let total: number | undefined;
  for (const line of stderr.split('\n')) {
    const at = line.indexOf('METRIC: ');
    if (at < 0) continue;
    try {
      const metric = JSON.parse(line.slice(at + 8)) as { metric?: unknown; value?: unknown; tags?: { stream?: unknown } };
      if (metric.metric !== 'record_count' || typeof metric.value !== 'number') continue;
      if (stream !== undefined && metric.tags?.stream !== stream) continue;
      total = (total ?? 0) + metric.value;
    } catch {
      // not a metric line after all
    }
  }
  return total;
}

/** The last few lines of a child's stderr, for a failure message. */
export function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
