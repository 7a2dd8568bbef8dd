import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, onUnauthorized, type Health, type Profile } from "./api";
import { ErrorMessage, errorText } from "./components/ErrorMessage";
import { PhotoView } from "./components/PhotoView";
import { ProfilePicker } from "./components/ProfilePicker";
import { Spinner } from "./components/Spinner";
import { TokenPrompt } from "./components/TokenPrompt";
import { buildUrlSearch, parseUrlState, type UrlState } from "./lib/url";
import { CollectionPage } from "./pages/CollectionPage";
import { WelcomePage } from "./pages/WelcomePage";

const LAST_PROFILE_KEY = "photosearch.profile";

function lastProfile(): string | null {
  try {
    return localStorage.getItem(LAST_PROFILE_KEY);
  } catch {
    return null;
  }
}

export function App() {
  const initial = useMemo(() => parseUrlState(window.location.search), []);
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(initial.profile ?? lastProfile());
  const [query, setQuery] = useState(initial.q);
  const [photo, setPhoto] = useState<number | null>(initial.photo);
  const [resultIds, setResultIds] = useState<number[]>([]);
  const [health, setHealth] = useState<Health | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [askToken, setAskToken] = useState(false);
  const pushedPhoto = useRef(false);

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

  // pick a profile that exists once the list is known
  useEffect(() => {
    if (!profiles) return;
    if (selected && profiles.some((p) => p.name === selected)) return;
    setSelected(profiles.length ? [...profiles].sort((a, b) => b.photo_count - a.photo_count)[0].name : null);
  }, [profiles, selected]);

  useEffect(() => {
    try {
      if (selected) localStorage.setItem(LAST_PROFILE_KEY, selected);
    } catch {
      /* private mode */
    }
  }, [selected]);

  // keep the address bar in step: typing replaces the entry, opening a photo adds one (Back closes it)
  const urlState: UrlState = useMemo(() => ({ profile: selected, q: query, photo }), [selected, query, photo]);
  useEffect(() => {
    const search = buildUrlSearch(urlState);
    if (search === window.location.search) return;
    const prev = parseUrlState(window.location.search);
    const url = window.location.pathname + search + window.location.hash;
    if (urlState.photo != null && prev.photo !== urlState.photo && prev.photo == null) {
      window.history.pushState(null, "", url);
    } else {
      window.history.replaceState(null, "", url);
    }
  }, [urlState]);

  useEffect(() => {
    const onPop = () => {
      const s = parseUrlState(window.location.search);
      pushedPhoto.current = false;
      setPhoto(s.photo);
      setQuery(s.q);
      if (s.profile) setSelected(s.profile);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const current = profiles?.find((p) => p.name === selected) ?? null;

  const hrefFor = useCallback(
    (id: number) => window.location.pathname + buildUrlSearch({ profile: selected, q: query, photo: id }),
    [selected, query],
  );

  // opening a photo from the page adds a history entry; closing it goes back over that entry
  const openPhoto = useCallback(
    (id: number) => {
      if (photo == null) pushedPhoto.current = true;
      setPhoto(id);
    },
    [photo],
  );
  const closePhoto = useCallback(() => {
    if (pushedPhoto.current) {
      pushedPhoto.current = false;
      window.history.back(); // popstate clears the photo
    } else {
      setPhoto(null);
    }
  }, []);

  const idx = photo == null ? -1 : resultIds.indexOf(photo);
  const onPrev = idx > 0 ? () => setPhoto(resultIds[idx - 1]) : undefined;
  const onNext = idx >= 0 && idx < resultIds.length - 1 ? () => setPhoto(resultIds[idx + 1]) : undefined;

  const onCreated = (p: Profile) => {
    setProfiles((list) => [...(list ?? []).filter((x) => x.name !== p.name), p].sort((a, b) => a.name.localeCompare(b.name)));
    setSelected(p.name);
    setQuery("");
    void loadProfiles();
  };

  const onDelete = async (name: string) => {
    setActionError(null);
    try {
      await api.deleteProfile(name);
      setQuery("");
      setProfiles((list) => (list ?? []).filter((p) => p.name !== name));
      setSelected(null);
      void loadProfiles();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
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
            onSelect={(name) => {
              setSelected(name);
              setQuery("");
              setPhoto(null);
            }}
            onCreated={onCreated}
            onDelete={onDelete}
          />
        )}
      </header>

      <main className="content">
        {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
        {actionError != null && <ErrorMessage error={actionError} onDismiss={() => setActionError(null)} />}
        {loadError != null && !profiles && (
          <ErrorMessage error={`Could not load your collections: ${errorText(loadError)}`} onRetry={() => void loadProfiles()} />
        )}
        {!profiles && loadError == null && <Spinner label="Loading collections…" />}
        {profiles && profiles.length === 0 && <WelcomePage onCreated={onCreated} />}
        {current && (
          <CollectionPage
            key={current.name}
            profile={current}
            query={query}
            onQuery={setQuery}
            hrefFor={hrefFor}
            onOpenPhoto={openPhoto}
            onResultsChange={setResultIds}
            onPhotosChanged={loadProfiles}
          />
        )}
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

      {photo != null && (
        <PhotoView photoId={photo} onClose={closePhoto} onOpen={openPhoto} onPrev={onPrev} onNext={onNext} />
      )}
    </div>
  );
}
