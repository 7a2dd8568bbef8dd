import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, onUnauthorized, type Health, type Profile } from "./api";
import { ErrorMessage } from "./components/ErrorMessage";
import { ProfilePicker } from "./components/ProfilePicker";
import { Spinner } from "./components/Spinner";
import { TokenPrompt } from "./components/TokenPrompt";
import { LimitsContext } from "./hooks/useLimits";
import { UrlStateContext, useUrlState } from "./hooks/useUrlState";
import { errorText } from "./lib/errors";
import { limitsFrom } from "./lib/limits";
import { parseUrlState } from "./lib/url";
import { CollectionPage } from "./pages/CollectionPage";
import { UnknownCollectionPage } from "./pages/UnknownCollectionPage";
import { WelcomePage } from "./pages/WelcomePage";

const LAST_PROFILE_KEY = "photosearch.profile";

function lastProfile(): string | null {
  try {
    return localStorage.getItem(LAST_PROFILE_KEY);
  } catch {
    return null;
  }
}

function largest(profiles: Profile[]): string | null {
  return profiles.length ? [...profiles].sort((a, b) => b.photo_count - a.photo_count)[0].name : null;
}

/** The shell: collections, health and the access token; the page's state is the URL's (useUrlState). */
export function App() {
  const url = useUrlState(lastProfile);
  const { state, dispatch } = url;
  // a collection named in the address (a shared link) that does not exist is said so, not swapped silently
  const linkedProfile = useRef(parseUrlState(window.location.search).profile);
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [askToken, setAskToken] = useState(false);
  const limits = useMemo(() => limitsFrom(health), [health]);

  useEffect(() => onUnauthorized(() => setAskToken(true)), []);

  const loadProfiles = useCallback(async () => {
    try {
      const list = await api.listProfiles();
      setProfiles(list);
      setLoadError(null);
      return list;
    } catch (err) {
      setLoadError(err);
      return null;
    }
  }, []);

  useEffect(() => {
    void loadProfiles();
    api.health().then(setHealth, () => setHealth(null));
  }, [loadProfiles]);

  const known = profiles?.some((p) => p.name === state.profile) ?? false;
  const unknownLinked = profiles != null && !known && state.profile != null && state.profile === linkedProfile.current;

  // with no (or a stale remembered) collection, open the biggest one
  useEffect(() => {
    if (!profiles || known || unknownLinked) return;
    dispatch({ type: "selectProfile", profile: largest(profiles) });
  }, [profiles, known, unknownLinked, dispatch]);

  useEffect(() => {
    if (!known || !state.profile) return;
    try {
      localStorage.setItem(LAST_PROFILE_KEY, state.profile);
    } catch {
      /* private mode */
    }
  }, [known, state.profile]);

  const current = profiles?.find((p) => p.name === state.profile) ?? null;

  const selectProfile = (name: string | null) => {
    linkedProfile.current = null;
    dispatch({ type: "selectProfile", profile: name });
  };

  const onCreated = (p: Profile) => {
    setProfiles((list) => [...(list ?? []).filter((x) => x.name !== p.name), p].sort((a, b) => a.name.localeCompare(b.name)));
    selectProfile(p.name);
    void loadProfiles();
  };

  const onDelete = async (name: string) => {
    setActionError(null);
    try {
      await api.deleteProfile(name);
      const rest = (profiles ?? []).filter((p) => p.name !== name);
      setProfiles(rest);
      selectProfile(largest(rest));
      void loadProfiles();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <LimitsContext.Provider value={limits}>
      <UrlStateContext.Provider value={url}>
        <div className="app">
          <header className="topbar">
            <a className="brand" href="/" aria-label="photosearch home">
              <img src="/favicon.svg" alt="" width="28" height="28" />
              <span>photosearch</span>
            </a>
            {profiles && profiles.length > 0 && (
              <ProfilePicker
                profiles={profiles}
                selected={current?.name ?? null}
                onSelect={selectProfile}
                onCreated={onCreated}
                onRenamed={(p) => setProfiles((list) => (list ?? []).map((x) => (x.name === p.name ? p : x)))}
                onDelete={onDelete}
              />
            )}
          </header>

          <main className="content">
            {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
            {actionError != null && <ErrorMessage error={actionError} onDismiss={() => setActionError(null)} />}
            {loadError != null && !profiles && (
              <ErrorMessage
                error={`Could not load your collections: ${errorText(loadError)}`}
                onRetry={() => void loadProfiles()}
              />
            )}
            {!profiles && loadError == null && <Spinner label="Loading collections…" />}
            {profiles && profiles.length === 0 && !unknownLinked && <WelcomePage onCreated={onCreated} />}
            {unknownLinked && state.profile && (
              <UnknownCollectionPage name={state.profile} profiles={profiles ?? []} onSelect={selectProfile} onCreated={onCreated} />
            )}
            {current && <CollectionPage key={current.name} profile={current} onPhotosChanged={loadProfiles} />}
          </main>

          <footer className="footer muted small">
            {health ? (
              <>
                photosearch {health.version}
                {!health.captioner && (
                  <span className="warn" data-testid="captioner-missing">
                    {" "}
                    · the captioner is not loaded: photos get labels but no captions
                  </span>
                )}
              </>
            ) : (
              "photosearch"
            )}
            {" · "}
            <button type="button" className="link-button" onClick={() => setAskToken(true)}>
              Access token
            </button>
          </footer>
        </div>
      </UrlStateContext.Provider>
    </LimitsContext.Provider>
  );
}
