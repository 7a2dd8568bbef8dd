import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, errorMessageFrom, isAbortError, isJobFinished, onUnauthorized } from "./api";

function mockFetch(status: number, body: string, contentType = "application/json") {
  const fn = vi.fn(async (_url: string, _init?: RequestInit) => new Response(status === 204 ? null : body, { status, headers: { "Content-Type": contentType } }));
  vi.stubGlobal("fetch", fn);
  return fn;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("errorMessageFrom", () => {
  it("uses the server's error text", () => {
    expect(errorMessageFrom(409, '{"error": "A profile named holiday already exists", "status": 409}')).toBe(
      "A profile named holiday already exists",
    );
  });
  it("falls back to a readable message for non-JSON bodies", () => {
    expect(errorMessageFrom(502, "<html>Bad gateway</html>")).toBe("The server is not reachable");
    expect(errorMessageFrom(418, "")).toBe("Request failed (HTTP 418)");
    expect(errorMessageFrom(400, '{"error": ""}')).toBe("The request was not accepted");
  });
});

describe("api client", () => {
  it("surfaces the server's message and status as an ApiError", async () => {
    mockFetch(400, JSON.stringify({ error: "Profile names may only contain letters, digits, . _ -", status: 400 }));
    const err = await api.createProfile("bad name!").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toBe("Profile names may only contain letters, digits, . _ -");
  });

  it("posts JSON and returns the body", async () => {
    const fetch = mockFetch(201, JSON.stringify({ name: "holiday", photo_count: 0, created_at: "2024-01-01T00:00:00Z" }));
    const p = await api.createProfile("holiday");
    expect(p.name).toBe("holiday");
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/profiles");
    expect(init?.method).toBe("POST");
    expect(JSON.parse(String(init?.body))).toEqual({ name: "holiday" });
    expect((init?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("builds the search query string and unwraps lists", async () => {
    const fetch = mockFetch(200, JSON.stringify({ query: "a dog", total: 0, results: [] }));
    await api.search({ profile: "my photos", q: "a dog & cat", offset: 20 });
    const url = new URL(fetch.mock.calls[0][0], "http://x");
    expect(url.pathname).toBe("/api/search");
    expect(url.searchParams.get("profile")).toBe("my photos");
    expect(url.searchParams.get("q")).toBe("a dog & cat");
    expect(url.searchParams.get("limit")).toBe("20");
    expect(url.searchParams.get("offset")).toBe("20");

    mockFetch(200, JSON.stringify({ profiles: [{ name: "a", photo_count: 2, created_at: "" }] }));
    expect(await api.listProfiles()).toEqual([{ name: "a", photo_count: 2, created_at: "" }]);
  });

  it("sends sort and dates only when set", async () => {
    const fetch = mockFetch(200, JSON.stringify({ query: "x", total: 0, results: [] }));
    await api.search({ profile: "p", q: "x", sort: "best" });
    let url = new URL(fetch.mock.calls[0][0], "http://x");
    expect(url.searchParams.has("sort")).toBe(false);
    expect(url.searchParams.has("after")).toBe(false);
    await api.search({ profile: "p", q: "x", sort: "newest", after: "2024-01-01", before: "2024-02-01" });
    url = new URL(fetch.mock.calls[1][0], "http://x");
    expect(url.searchParams.get("sort")).toBe("newest");
    expect(url.searchParams.get("after")).toBe("2024-01-01");
    expect(url.searchParams.get("before")).toBe("2024-02-01");
  });

  it("pages the timeline by cursor and deletes/restores selections", async () => {
    const fetch = mockFetch(200, JSON.stringify({ photos: [], next_cursor: null, total: 0 }));
    await api.timeline({ profile: "Été 2024", cursor: "abc" });
    const url = new URL(fetch.mock.calls[0][0], "http://x");
    expect(url.pathname).toBe("/api/profiles/%C3%89t%C3%A9%202024/photos");
    expect(url.searchParams.get("sort")).toBe("newest");
    expect(url.searchParams.get("cursor")).toBe("abc");

    const del = mockFetch(200, JSON.stringify({ deleted: [1, 2] }));
    await api.deletePhotos("p", [1, 2]);
    expect(del.mock.calls[0][0]).toBe("/api/profiles/p/photos/delete");
    expect(JSON.parse(String(del.mock.calls[0][1]?.body))).toEqual({ ids: [1, 2] });
    await api.deletePhoto(3);
    expect(del.mock.calls[1][0]).toBe("/api/photos/3");
    expect(del.mock.calls[1][1]?.method).toBe("DELETE");
    await api.cancelJob(4);
    expect(del.mock.calls[2][0]).toBe("/api/jobs/4/cancel");
  });

  it("escapes profile names in paths", async () => {
    const fetch = mockFetch(200, JSON.stringify({ jobs: [] }));
    await api.listJobs("a/b");
    expect(fetch.mock.calls[0][0]).toBe("/api/profiles/a%2Fb/jobs");
  });

  it("accepts 204 without a body", async () => {
    mockFetch(204, "");
    await expect(api.deleteProfile("x")).resolves.toBeUndefined();
  });

  it("turns a network failure into a readable ApiError with status 0", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const err = (await api.health().catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/could not reach/i);
  });

  it("lets aborts through as aborts", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Promise.reject(new DOMException("The operation was aborted.", "AbortError"))),
    );
    const ctrl = new AbortController();
    ctrl.abort();
    const err = await api.search({ profile: "p", q: "x" }, ctrl.signal).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(err).not.toBeInstanceOf(ApiError);
  });

  it("reports unauthorized answers to listeners", async () => {
    mockFetch(401, JSON.stringify({ error: "This server needs a token", status: 401 }));
    const listener = vi.fn();
    const off = onUnauthorized(listener);
    const err = (await api.addFolder("p", "/x").catch((e: unknown) => e)) as ApiError;
    off();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(err.unauthorized).toBe(true);
    expect(err.message).toBe("This server needs a token");
  });

  it("complains readably about an unreadable success body", async () => {
    mockFetch(200, "<html>", "text/html");
    await expect(api.getPhoto(1)).rejects.toThrow(/could not read/);
  });
});

describe("isJobFinished", () => {
  it("is true for done, failed and cancelled only", () => {
    expect(isJobFinished({ status: "cancelled" })).toBe(true);
    expect(isJobFinished({ status: "done" })).toBe(true);
    expect(isJobFinished({ status: "failed" })).toBe(true);
    expect(isJobFinished({ status: "running" })).toBe(false);
    expect(isJobFinished({ status: "queued" })).toBe(false);
  });
});
