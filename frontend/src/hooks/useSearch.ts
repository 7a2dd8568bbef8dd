import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, isAbortError, type SearchResponse, type SearchResult, type SortOrder } from "../api";
import { errorText } from "../lib/errors";
import { LatestRequest } from "../lib/debounce";

export const SEARCH_DEBOUNCE_MS = 250;
export const PAGE_SIZE = 24;

export interface SearchFilters {
  sort: SortOrder;
  after: string | null;
  before: string | null;
}

interface Args extends SearchFilters {
  profile: string;
  q: string;
  offset: number;
}

export interface SearchState {
  /** The query the shown results belong to (trimmed). */
  query: string;
  results: SearchResult[];
  total: number;
  /** Results above the relevance cut-off (all of them from servers without one). */
  matches: number;
  didYouMean: string | null;
  /** The words the results are for: the query, or its spelling correction. */
  searchedFor: string;
  notice: string | null;
  /** The filters the shown results were asked with, as a key. */
  filterKey: string;
  loading: boolean;
  loadingMore: boolean;
  error: string | null;
}

const EMPTY: SearchState = {
  query: "",
  results: [],
  total: 0,
  matches: 0,
  didYouMean: null,
  searchedFor: "",
  notice: null,
  filterKey: "",
  loading: false,
  loadingMore: false,
  error: null,
};

const keyOf = (f: SearchFilters) => `${f.sort}|${f.after ?? ""}|${f.before ?? ""}`;

/**
 * Search-as-you-type: waits {@link SEARCH_DEBOUNCE_MS} after the last keystroke,
 * aborts the stale request, and keeps the server's order (best first).
 */
export function useSearch(profile: string | null, rawQuery: string, maxQueryLength: number, filters: SearchFilters) {
  const [state, setState] = useState<SearchState>(EMPTY);
  const query = rawQuery.trim();

  const runner = useMemo(
    () =>
      new LatestRequest<Args, SearchResponse>(
        (a, signal) =>
          api.search(
            { profile: a.profile, q: a.q, limit: PAGE_SIZE, offset: a.offset, sort: a.sort, after: a.after, before: a.before },
            signal,
          ),
        {
          onStart: (a) =>
            setState((s) => (a.offset ? { ...s, loadingMore: true } : { ...s, loading: true, error: null })),
          onResult: (r, a) =>
            setState((s) => ({
              query: a.q,
              // keep the server's order; a later page is appended, dropping repeats
              results: a.offset
                ? [...s.results, ...r.results.filter((x) => !s.results.some((y) => y.photo.id === x.photo.id))]
                : r.results,
              total: r.total,
              matches: typeof r.matches === "number" ? r.matches : r.total,
              didYouMean: r.did_you_mean ?? null,
              searchedFor: r.searched_for ?? a.q,
              notice: r.notice ?? null,
              filterKey: keyOf(a),
              loading: false,
              loadingMore: false,
              error: null,
            })),
          onError: (e, a) => {
            if (isAbortError(e)) return;
            setState((s) => ({
              ...s,
              query: a.q,
              filterKey: keyOf(a),
              results: a.offset ? s.results : [],
              total: a.offset ? s.total : 0,
              matches: a.offset ? s.matches : 0,
              loading: false,
              loadingMore: false,
              error: errorText(e),
            }));
          },
        },
      ),
    [],
  );

  const lastProfile = useRef<string | null>(null);
  const [reloadTick, setReloadTick] = useState(0);
  const lastReload = useRef(0);

  useEffect(() => {
    const immediate = lastProfile.current !== profile || lastReload.current !== reloadTick;
    lastProfile.current = profile;
    lastReload.current = reloadTick;
    if (!profile || !query) {
      runner.cancel();
      setState(EMPTY);
      return;
    }
    if (query.length > maxQueryLength) {
      runner.cancel();
      setState({ ...EMPTY, query, filterKey: keyOf(filters), error: `That description is too long (at most ${maxQueryLength} characters).` });
      return;
    }
    // a filter change answers at once; typing waits for a pause (state is read here, not a trigger)
    const filtersChanged = state.filterKey !== keyOf(filters) && state.query === query;
    runner.schedule({ profile, q: query, offset: 0, ...filters }, immediate || filtersChanged ? 0 : SEARCH_DEBOUNCE_MS);
  }, [profile, query, reloadTick, runner, maxQueryLength, filters.sort, filters.after, filters.before]);

  useEffect(() => () => runner.cancel(), [runner]);

  const loadMore = useCallback(() => {
    if (!profile || !state.query || state.loadingMore || state.results.length >= state.total) return;
    runner.schedule({ profile, q: state.query, offset: state.results.length, ...filters }, 0);
  }, [profile, runner, state, filters]);

  /** Search again right away (after new photos were indexed, say). */
  const reload = useCallback(() => setReloadTick((t) => t + 1), []);

  return { ...state, loadMore, reload, stale: state.query !== query || state.filterKey !== keyOf(filters) };
}
