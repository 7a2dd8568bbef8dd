import { describe, expect, it } from "vitest";
import { buildUrlSearch, EMPTY_URL_STATE, historyMode, parseUrlState, urlReducer, type UrlState } from "./url";

const base: UrlState = { ...EMPTY_URL_STATE, profile: "trips", q: "dog", photo: 7, sort: "newest", after: "2024-01-01", before: null };

describe("parseUrlState / buildUrlSearch", () => {
  it("round-trips every field", () => {
    const search = buildUrlSearch(base);
    expect(search).toBe("?profile=trips&q=dog&sort=newest&after=2024-01-01&photo=7");
    expect(parseUrlState(search)).toEqual(base);
  });

  it("drops what it cannot use", () => {
    expect(parseUrlState("?photo=abc&sort=random&after=yesterday&before=2024-13")).toEqual(EMPTY_URL_STATE);
    expect(parseUrlState("?photo=-3").photo).toBeNull();
  });

  it("leaves defaults out of the address", () => {
    expect(buildUrlSearch(EMPTY_URL_STATE)).toBe("");
    expect(buildUrlSearch({ ...EMPTY_URL_STATE, q: "   " })).toBe("");
  });

  it("keeps spaces and accents in names", () => {
    const s = { ...EMPTY_URL_STATE, profile: "été-2024", q: "café & crème" };
    expect(parseUrlState(buildUrlSearch(s))).toEqual(s);
  });
});

describe("urlReducer", () => {
  it("clears the search, filters and photo when the collection changes", () => {
    expect(urlReducer(base, { type: "selectProfile", profile: "work" })).toEqual({ ...EMPTY_URL_STATE, profile: "work" });
    expect(urlReducer(base, { type: "selectProfile", profile: "trips" })).toBe(base);
  });

  it("sets the query and keeps the rest", () => {
    expect(urlReducer(base, { type: "setQuery", q: "cat" })).toEqual({ ...base, q: "cat" });
    expect(urlReducer(base, { type: "setQuery", q: "dog" })).toBe(base);
  });

  it("sets filters, swapping a backwards range and refusing malformed dates", () => {
    const s = urlReducer(base, { type: "setFilters", after: "2024-05-01", before: "2023-02-03" });
    expect([s.after, s.before]).toEqual(["2023-02-03", "2024-05-01"]);
    expect(urlReducer(base, { type: "setFilters", after: "05/01/2024" }).after).toBeNull();
    expect(urlReducer(base, { type: "setFilters", sort: "oldest" }).sort).toBe("oldest");
    expect(urlReducer(base, { type: "clearFilters" })).toEqual({ ...base, sort: "best", after: null, before: null });
  });

  it("opens and closes photos", () => {
    const closed = urlReducer(base, { type: "closePhoto" });
    expect(closed.photo).toBeNull();
    expect(urlReducer(closed, { type: "closePhoto" })).toBe(closed);
    expect(urlReducer(closed, { type: "openPhoto", id: 3 }).photo).toBe(3);
  });

  it("takes a popped address as it is", () => {
    expect(urlReducer(base, { type: "replace", state: EMPTY_URL_STATE })).toBe(EMPTY_URL_STATE);
  });
});

describe("historyMode", () => {
  const closed = { ...base, photo: null };
  it("pushes when a photo opens, so Back closes it", () => {
    expect(historyMode(closed, base)).toBe("push");
  });
  it("replaces for typing, filters, closing and moving between photos", () => {
    expect(historyMode(closed, { ...closed, q: "cats" })).toBe("replace");
    expect(historyMode(base, closed)).toBe("replace");
    expect(historyMode(base, { ...base, photo: 8 })).toBe("replace");
  });
  it("does nothing when the address would not change", () => {
    expect(historyMode(base, { ...base })).toBe("none");
  });
});
