import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError, isAbortError, type PhotoSummary } from "../api";
import { errorText } from "../lib/errors";

export const TIMELINE_PAGE = 60;

interface TimelineState {
  photos: PhotoSummary[];
  nextCursor: string | null;
  total: number;
  loading: boolean;
  error: string | null;
  /** false until the first page answered. */
  loaded: boolean;
  /** The server has no timeline (404: older than the browse endpoint). */
  unavailable: boolean;
}

const START: TimelineState = { photos: [], nextCursor: null, total: 0, loading: false, error: null, loaded: false, unavailable: false };

/**
 * The collection as a timeline (GET /api/profiles/<p>/photos, newest first): one page at a time by the
 * server's cursor; `loadMore` is what infinite scroll calls near the bottom.
 */
export function useTimeline(profile: string, sort: "newest" | "oldest", enabled: boolean) {
  const [state, setState] = useState<TimelineState>(START);
  const ctrl = useRef<AbortController | null>(null);
  const [reloadTick, setReloadTick] = useState(0);

  const fetchPage = useCallback(
    (cursor: string | null) => {
      ctrl.current?.abort();
      const c = new AbortController();
      ctrl.current = c;
      setState((s) => ({ ...s, loading: true, error: null }));
      api.timeline({ profile, sort, limit: TIMELINE_PAGE, cursor }, c.signal).then(
        (page) =>
          setState((s) => {
            const seen = new Set(cursor ? s.photos.map((p) => p.id) : []);
            const fresh = page.photos.filter((p) => !seen.has(p.id));
            return {
              photos: cursor ? [...s.photos, ...fresh] : page.photos,
              nextCursor: page.next_cursor,
              total: page.total,
              loading: false,
              error: null,
              loaded: true,
              unavailable: false,
            };
          }),
        (err) => {
          if (isAbortError(err)) return;
          const unavailable = err instanceof ApiError && err.status === 404 && !cursor;
          setState((s) => ({ ...s, loading: false, loaded: true, unavailable, error: errorText(err) }));
        },
      );
    },
    [profile, sort],
  );

  // coming back from a search shows the photos already loaded while the first page is fetched again;
  // another collection or order starts from nothing
  const shownKey = useRef("");
  useEffect(() => {
    if (!enabled) return;
    const key = `${profile}|${sort}`;
    if (shownKey.current !== key) setState(START);
    shownKey.current = key;
    fetchPage(null);
    return () => ctrl.current?.abort();
  }, [enabled, fetchPage, reloadTick, profile, sort]);

  const loadMore = useCallback(() => {
    if (state.loading || !state.nextCursor || state.error) return;
    fetchPage(state.nextCursor);
  }, [fetchPage, state.loading, state.nextCursor, state.error]);

  const reload = useCallback(() => setReloadTick((t) => t + 1), []);

  return { ...state, loadMore, reload, hasMore: state.nextCursor != null };
}
