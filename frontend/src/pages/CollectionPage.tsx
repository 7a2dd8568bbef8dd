import "./CollectionPage.css";
import { useCallback, useEffect, useRef, useState } from "react";
import { isJobFinished, profileLabel, type Job, type Profile } from "../api";
import { ErrorMessage } from "../components/ErrorMessage";
import { JobProgress } from "../components/JobProgress";
import { PhotoView } from "../components/PhotoView";
import { ResultGrid } from "../components/ResultGrid";
import { SourcesPanel } from "../components/SourcesPanel";
import { Spinner } from "../components/Spinner";
import { useJobs } from "../hooks/useJobs";
import { useLimits } from "../hooks/useLimits";
import { useSearch } from "../hooks/useSearch";
import { useUrl } from "../hooks/useUrlState";
import { plural } from "../lib/format";

const SUGGESTIONS = ["dog", "beach", "a person smiling", "food on a plate", "sunset", "cat"];

/** One collection: add photos, follow their indexing, search them, open one. The URL state is useUrl()'s. */
export function CollectionPage({ profile, onPhotosChanged }: { profile: Profile; onPhotosChanged: () => void }) {
  const { state, dispatch, hrefFor, closePhoto } = useUrl();
  const { maxQueryLength } = useLimits();
  const query = state.q;
  const onQuery = useCallback((q: string) => dispatch({ type: "setQuery", q }), [dispatch]);
  const onOpenPhoto = useCallback((id: number) => dispatch({ type: "openPhoto", id }), [dispatch]);
  const search = useSearch(profile.name, query, maxQueryLength);
  const lastRefresh = useRef(0);

  const onJobChange = useCallback(
    (_job: Job, finishedNow: boolean) => {
      const now = Date.now();
      // the photo count follows the job: on every finish, and every 2 s while it runs
      if (finishedNow || now - lastRefresh.current > 2000) {
        lastRefresh.current = now;
        onPhotosChanged();
      }
      if (finishedNow) search.reload();
    },
    [onPhotosChanged, search.reload],
  );
  const { jobs, addJob, dismiss, pollError } = useJobs(profile.name, onJobChange);
  const active = jobs.some((j) => !isJobFinished(j));
  const empty = profile.photo_count === 0;
  const [showSources, setShowSources] = useState(empty);

  useEffect(() => setShowSources(profile.photo_count === 0), [profile.name]);

  // dragging files anywhere over the page opens "Add photos" so the drop zone is there;
  // a drop that misses it must not make the browser navigate away to the file
  useEffect(() => {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes("Files");
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      const inZone = e.target instanceof Element && e.target.closest(".dropzone");
      if (!inZone && e.dataTransfer) e.dataTransfer.dropEffect = "none";
      setShowSources(true);
    };
    const onDrop = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    window.addEventListener("dragover", onOver);
    window.addEventListener("drop", onDrop);
    return () => {
      window.removeEventListener("dragover", onOver);
      window.removeEventListener("drop", onDrop);
    };
  }, []);

  const resultIds = search.results.map((r) => r.photo.id);
  const photo = state.photo;
  const idx = photo == null ? -1 : resultIds.indexOf(photo);
  const onPrev = idx > 0 ? () => onOpenPhoto(resultIds[idx - 1]) : undefined;
  const onNext = idx >= 0 && idx < resultIds.length - 1 ? () => onOpenPhoto(resultIds[idx + 1]) : undefined;

  const q = query.trim();
  const searching = search.loading || (search.stale && q !== "" && q.length <= maxQueryLength);

  return (
    <div className="collection">
      <section className="search-area" aria-label="Search">
        <div className="search-box">
          <svg className="search-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              fill="currentColor"
              d="M15.5 14h-.79l-.28-.27A6.47 6.47 0 0 0 16 9.5 6.5 6.5 0 1 0 9.5 16c1.61 0 3.09-.59 4.23-1.57l.27.28v.79l5 4.99L20.49 19l-4.99-5zm-6 0C7.01 14 5 11.99 5 9.5S7.01 5 9.5 5 14 7.01 14 9.5 11.99 14 9.5 14z"
            />
          </svg>
          <label htmlFor="search-input" className="visually-hidden">
            Describe the photo you are looking for
          </label>
          <input
            id="search-input"
            data-testid="search-input"
            type="search"
            value={query}
            placeholder={empty ? "Add photos first, then describe what you're looking for" : `Describe a photo in “${profileLabel(profile)}”…`}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => onQuery(e.target.value)}
          />
          {searching && <Spinner inline label="Searching…" />}
        </div>
        <div className="search-meta">
          <span className="muted" data-testid="profile-count">
            {plural(profile.photo_count, "photo")} in {profileLabel(profile)}
          </span>
          <button
            type="button"
            className="btn btn-small"
            aria-expanded={showSources}
            data-testid="toggle-sources"
            onClick={() => setShowSources((s) => !s)}
          >
            {showSources ? "Hide “Add photos”" : "+ Add photos"}
          </button>
        </div>
      </section>

      {showSources && <SourcesPanel profile={profile.name} onJob={addJob} />}

      {jobs.length > 0 && (
        <section className="jobs" aria-label="Indexing">
          {pollError && <ErrorMessage error={pollError} />}
          {jobs.map((j) => (
            <JobProgress key={j.id} job={j} onDismiss={() => dismiss(j.id)} />
          ))}
        </section>
      )}

      <section className="results" aria-live="polite" aria-busy={searching}>
        {search.error && <ErrorMessage error={search.error} testId="search-error" onRetry={search.reload} />}
        {!q && !empty && (
          <div className="empty-state" data-testid="search-hint">
            <p>Type what you remember about a photo — things, places, colours, activities.</p>
            <div className="suggestions">
              {SUGGESTIONS.map((s) => (
                <button key={s} type="button" className="chip chip-button" onClick={() => onQuery(s)}>
                  {s}
                </button>
              ))}
            </div>
          </div>
        )}
        {!q && empty && !active && (
          <div className="empty-state" data-testid="empty-collection">
            <p>
              <strong>This collection has no photos yet.</strong> Add some above — they're described automatically so
              you can search them.
            </p>
          </div>
        )}
        {q && !search.error && !search.stale && !search.loading && search.results.length === 0 && (
          <div className="empty-state" data-testid="no-results">
            <p>
              No photos match <strong>“{search.query}”</strong>
              {empty ? " — this collection is still empty." : ". Try other words, or fewer of them."}
            </p>
          </div>
        )}
        {search.results.length > 0 && q && (
          <>
            <p className="result-count muted" data-testid="result-count">
              {search.results.some((r) => r.matched.length > 0)
                ? `${plural(search.total, "photo")} for “${search.query}”, best first`
                : `No photo mentions “${search.query}” — these look closest`}
            </p>
            <div className={search.stale || search.loading ? "results-stale" : undefined}>
              <ResultGrid results={search.results} hrefFor={hrefFor} onOpen={onOpenPhoto} />
            </div>
            {search.results.length < search.total && (
              <div className="load-more">
                <button type="button" className="btn" onClick={search.loadMore} disabled={search.loadingMore}>
                  {search.loadingMore ? "Loading…" : `Show more (${search.total - search.results.length} left)`}
                </button>
              </div>
            )}
          </>
        )}
      </section>

      {photo != null && <PhotoView photoId={photo} onClose={closePhoto} onOpen={onOpenPhoto} onPrev={onPrev} onNext={onNext} />}
    </div>
  );
}
