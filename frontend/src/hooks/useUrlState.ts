import { createContext, useCallback, useContext, useEffect, useReducer, useRef, type Dispatch } from "react";
import { buildUrlSearch, historyMode, parseUrlState, urlReducer, type UrlAction, type UrlState } from "../lib/url";

/**
 * The page's state (collection, query, filters, open photo) in one reducer, mirrored in the address bar:
 * a change pushes or replaces a history entry (see {@link historyMode}), Back/Forward replace the state.
 */
export function useUrlState(fallbackProfile: () => string | null) {
  const [state, dispatch] = useReducer(urlReducer, undefined, () => {
    const s = parseUrlState(window.location.search);
    return s.profile ? s : { ...s, profile: fallbackProfile() };
  });
  // true while the open photo has its own history entry, so closing it can go Back over that entry
  const pushedPhoto = useRef(false);
  const shown = useRef<UrlState>(parseUrlState(window.location.search));

  useEffect(() => {
    const mode = historyMode(shown.current, state);
    shown.current = state;
    if (mode === "none") return;
    const url = window.location.pathname + buildUrlSearch(state) + window.location.hash;
    if (mode === "push") {
      pushedPhoto.current = true;
      window.history.pushState(null, "", url);
    } else {
      window.history.replaceState(null, "", url);
    }
  }, [state]);

  useEffect(() => {
    const onPop = () => {
      pushedPhoto.current = false;
      const s = parseUrlState(window.location.search);
      shown.current = s;
      dispatch({ type: "replace", state: s });
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const closePhoto = useCallback(() => {
    if (pushedPhoto.current) {
      pushedPhoto.current = false;
      window.history.back(); // popstate clears the photo
    } else {
      dispatch({ type: "closePhoto" });
    }
  }, []);

  const hrefFor = useCallback(
    (id: number) => window.location.pathname + buildUrlSearch({ ...state, photo: id }),
    [state],
  );

  return { state, dispatch, closePhoto, hrefFor };
}

export interface UrlStateApi {
  state: UrlState;
  dispatch: Dispatch<UrlAction>;
  closePhoto: () => void;
  hrefFor: (id: number) => string;
}

export const UrlStateContext = createContext<UrlStateApi | null>(null);

/** The page's URL state, for any component under <App>. */
export function useUrl(): UrlStateApi {
  const ctx = useContext(UrlStateContext);
  if (!ctx) throw new Error("useUrl() outside <UrlStateContext.Provider>");
  return ctx;
}
