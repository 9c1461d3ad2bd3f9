import type { Clock, Timer } from '../clock.js';

/**
 * Lets a reader of a response mark time spent waiting on something other than the server.
 * See ResponseReader (client.ts).
 */
export interface AttemptClock {
  outside<U>(work: Promise<U>): Promise<U>;
}

/**
 * The limit of one attempt: `ms` of silence from the server. It runs from sending the request
 * until the response headers arrive, then restarts with every chunk of the body, so a big body
 * that keeps arriving (hundreds of MB at 1 MB/s) never times out, while one that stalls fails
 * `ms` after its last chunk. `outside` stops the count while its promise is pending (waits on the
 * reader of stdout, not the server) and restarts it in full afterwards.
 */
export function silenceTimeout(
  ms: number,
  clock: Pick<Clock, 'timer'>,
): {
  signal: AbortSignal;
  clock: AttemptClock;
  /** True once the response headers came: a timeout after that is a stalled body. */
  readonly inBody: boolean;
  /** The response headers came: the limit restarts. */
  headersReceived(): void;
  /** `response` whose body restarts the limit with every chunk it delivers. */
  watchBody(response: Response): Response;
  clear(): void;
} {
  const controller = new AbortController();
  const expire = (): void => controller.abort(new DOMException('request timed out', 'TimeoutError'));
  let timer: Timer = clock.timer(ms, expire);
  let paused = 0;
  let inBody = false;
  // Pauses nest (`paused` counts them); only the last resume starts a new timer, so concurrent
  // `outside` calls never overwrite each other's timer.
  const pause = (): void => {
    if (paused++ === 0) timer.cancel();
  };
  const resume = (): void => {
    if (--paused === 0 && !controller.signal.aborted) timer = clock.timer(ms, expire);
  };
  /** Restarts the count (Timer.restart: no new timer per chunk). */
  const restart = (): void => {
    if (paused === 0 && !controller.signal.aborted) timer.restart();
  };
  return {
    signal: controller.signal,
    get inBody() {
      return inBody;
    },
    headersReceived() {
      inBody = true;
      restart();
    },
    watchBody: (response) => withChunkHook(response, restart),
    clear: () => timer.cancel(),
    clock: {
      async outside(work) {
        pause();
        try {
          return await work;
        } finally {
          resume();
        }
      },
    },
  };
}

/**
 * `response` whose body calls `onChunk` with every chunk it delivers. Pulled only when the reader
 * of the response asks for more (highWaterMark 0): no chunk is read ahead while the reader waits
 * outside.
 */
function withChunkHook(response: Response, onChunk: () => void): Response {
  if (response.body === null) return response;
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(stream) {
        const { done, value } = await reader.read();
        if (done) {
          stream.close();
          return;
        }
        onChunk();
        stream.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
