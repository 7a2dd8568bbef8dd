/**
 * Runs only the latest of a stream of requests: each `schedule` waits `delay` ms
 * (restarting the wait on every call), aborts the request still in flight and
 * delivers a result only if no newer call was made in the meantime.
 */
export class LatestRequest<A, R> {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private seq = 0;

  constructor(
    private readonly run: (arg: A, signal: AbortSignal) => Promise<R>,
    private readonly handlers: {
      onStart?: (arg: A) => void;
      onResult: (result: R, arg: A) => void;
      onError: (err: unknown, arg: A) => void;
    },
  ) {}

  schedule(arg: A, delay: number): void {
    this.cancel();
    const seq = this.seq;
    const fire = () => {
      this.timer = null;
      const controller = new AbortController();
      this.controller = controller;
      this.handlers.onStart?.(arg);
      this.run(arg, controller.signal).then(
        (r) => {
          if (seq === this.seq && !controller.signal.aborted) this.handlers.onResult(r, arg);
        },
        (e) => {
          if (seq === this.seq && !controller.signal.aborted) this.handlers.onError(e, arg);
        },
      );
    };
    if (delay > 0) this.timer = setTimeout(fire, delay);
    else fire();
  }

  /** Forget the pending wait and abort the request in flight; nothing more is delivered. */
  cancel(): void {
    this.seq++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }
}
