/**
 * The page's shareable state lives in the query string: ?profile=…&q=…&photo=…&sort=…&after=…&before=…
 *
 * One reducer owns every change to it, so "switching collection clears the search" or "opening a photo
 * adds a history entry" are rules written once here (and unit-tested) rather than spread over handlers.
 * {@link useUrlState} (hooks/) keeps the address bar in step with it.
 */

export type Sort = "best" | "newest" | "oldest";
const SORTS: readonly Sort[] = ["best", "newest", "oldest"];

export interface UrlState {
  profile: string | null;
  q: string;
  photo: number | null;
  sort: Sort;
  /** Inclusive date range, YYYY-MM-DD, or null for open-ended. */
  after: string | null;
  before: string | null;
}

export const EMPTY_URL_STATE: UrlState = { profile: null, q: "", photo: null, sort: "best", after: null, before: null };

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function day(v: string | null): string | null {
  return v && DAY.test(v) ? v : null;
}

export function parseUrlState(search: string): UrlState {
  const p = new URLSearchParams(search);
  const photo = Number.parseInt(p.get("photo") ?? "", 10);
  const sort = p.get("sort") as Sort | null;
  return {
    profile: p.get("profile") || null,
    q: p.get("q") ?? "",
    photo: Number.isFinite(photo) && photo > 0 ? photo : null,
    sort: sort && SORTS.includes(sort) ? sort : "best",
    after: day(p.get("after")),
    before: day(p.get("before")),
  };
}

export function buildUrlSearch(s: UrlState): string {
  const p = new URLSearchParams();
  if (s.profile) p.set("profile", s.profile);
  if (s.q.trim()) p.set("q", s.q);
  if (s.sort !== "best") p.set("sort", s.sort);
  if (s.after) p.set("after", s.after);
  if (s.before) p.set("before", s.before);
  if (s.photo != null) p.set("photo", String(s.photo));
  const str = p.toString();
  return str ? `?${str}` : "";
}

export type UrlAction =
  /** Another collection: its search, filters and open photo do not carry over. */
  | { type: "selectProfile"; profile: string | null }
  | { type: "setQuery"; q: string }
  | { type: "setFilters"; sort?: Sort; after?: string | null; before?: string | null }
  | { type: "clearFilters" }
  | { type: "openPhoto"; id: number }
  | { type: "closePhoto" }
  /** The address changed under us (Back/Forward): take it as it is. */
  | { type: "replace"; state: UrlState };

export function urlReducer(state: UrlState, action: UrlAction): UrlState {
  switch (action.type) {
    case "selectProfile":
      if (action.profile === state.profile) return state;
      return { ...EMPTY_URL_STATE, profile: action.profile };
    case "setQuery":
      return action.q === state.q ? state : { ...state, q: action.q };
    case "setFilters": {
      const next = {
        ...state,
        sort: action.sort ?? state.sort,
        after: action.after !== undefined ? day(action.after) : state.after,
        before: action.before !== undefined ? day(action.before) : state.before,
      };
      // a range typed backwards means the same days
      if (next.after && next.before && next.after > next.before) [next.after, next.before] = [next.before, next.after];
      return next;
    }
    case "clearFilters":
      return { ...state, sort: "best", after: null, before: null };
    case "openPhoto":
      return action.id === state.photo ? state : { ...state, photo: action.id };
    case "closePhoto":
      return state.photo == null ? state : { ...state, photo: null };
    case "replace":
      return action.state;
  }
}

/**
 * How the address bar follows a change: opening a photo from the page pushes an entry (so Back closes
 * it); everything else, typing included, replaces the current entry.
 */
export function historyMode(prev: UrlState, next: UrlState): "push" | "replace" | "none" {
  if (buildUrlSearch(prev) === buildUrlSearch(next)) return "none";
  return prev.photo == null && next.photo != null ? "push" : "replace";
}
