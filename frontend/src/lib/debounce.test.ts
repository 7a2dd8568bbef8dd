import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatestRequest } from "./debounce";

describe("LatestRequest", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const signals: AbortSignal[] = [];
    const resolvers: ((v: string) => void)[] = [];
    const run = vi.fn((q: string, signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<string>((resolve) => resolvers.push((v) => resolve(`${q}:${v}`)));
    });
    const onResult = vi.fn();
    const onError = vi.fn();
    const latest = new LatestRequest(run, { onResult, onError });
    return { run, signals, resolvers, onResult, onError, latest };
  }

  it("waits until typing pauses, then runs only the last query", async () => {
    const { run, latest } = setup();
    latest.schedule("c", 250);
    await vi.advanceTimersByTimeAsync(100);
    latest.schedule("ca", 250);
    await vi.advanceTimersByTimeAsync(100);
    latest.schedule("cat", 250);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(250);
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0][0]).toBe("cat");
  });

  it("aborts the stale request and ignores its late answer", async () => {
    const { signals, resolvers, onResult, latest } = setup();
    latest.schedule("dog", 0);
    latest.schedule("dogs", 0);
    expect(signals[0].aborted).toBe(true);
    expect(signals[1].aborted).toBe(false);
    resolvers[1]("new");
    resolvers[0]("old"); // arrives late
    await vi.runAllTimersAsync();
    expect(onResult).toHaveBeenCalledTimes(1);
    expect(onResult.mock.calls[0][0]).toBe("dogs:new");
  });

  it("delivers nothing after cancel", async () => {
    const { resolvers, signals, onResult, onError, latest } = setup();
    latest.schedule("x", 0);
    latest.cancel();
    expect(signals[0].aborted).toBe(true);
    resolvers[0]("late");
    await vi.runAllTimersAsync();
    expect(onResult).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it("reports errors of the current request", async () => {
    const onError = vi.fn();
    const latest = new LatestRequest((_q: string) => Promise.reject(new Error("boom")), { onResult: vi.fn(), onError });
    latest.schedule("q", 0);
    await vi.runAllTimersAsync();
    expect(onError).toHaveBeenCalledWith(new Error("boom"), "q");
  });
});
