import "./CollectionPage.css";
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { api, isJobFinished, profileLabel, type Job, type PhotoSummary, type Profile } from "../api";
import { ErrorMessage } from "../components/ErrorMessage";
import { JobProgress } from "../components/JobProgress";
import type { CardActions } from "../components/PhotoCard";
import { PhotoView } from "../components/PhotoView";
import { SearchFilters } from "../components/SearchFilters";
import { SearchResults, splitByStrength } from "../components/SearchResults";
import { SelectionBar } from "../components/SelectionBar";
import { SourcesPanel } from "../components/SourcesPanel";
import { Spinner } from "../components/Spinner";
import { Suggestions } from "../components/Suggestions";
import { Timeline } from "../components/Timeline";
import { UndoToast } from "../components/UndoToast";
import { useJobs } from "../hooks/useJobs";
import { useLimits } from "../hooks/useLimits";
import { useOutdated } from "../hooks/useOutdated";
import { useSearch } from "../hooks/useSearch";
import { useSuggestions } from "../hooks/useSuggestions";
import { useTimeline } from "../hooks/useTimeline";
import { useUndoableDelete } from "../hooks/useUndoableDelete";
import { useUrl } from "../hooks/useUrlState";
import { errorText } from "../lib/errors";
import { plural } from "../lib/format";
import { isArrowKey, keepShown, neighbourIndex, NO_SELECTION, selectRange, toggleOne, type Selection } from "../lib/selection";

const SORT_WORDS = { best: "best first", newest: "newest first", oldest: "oldest first" } as const;

/** A photo's day as YYYY-MM-DD (as written, no time-zone shift), for the date range on the timeline. */
function dayOf(p: PhotoSummary): string {
  return (p.taken_at ?? "").slice(0, 10);
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

/**
 * One collection: add photos and follow their indexing; with no query its timeline, with one the
 * matches; select and delete with Undo; open a photo. The URL state (query, filters, open photo) is useUrl()'s.
 */
export function CollectionPage({ profile, onPhotosChanged }: { profile: Profile; onPhotosChanged: () => void }) {
  const { state, dispatch, hrefFor, closePhoto } = useUrl();
  const { maxQueryLength } = useLimits();
  const q = state.q.trim();
  const browsing = q === "";
  const empty = profile.photo_count === 0;
  const filters = useMemo(() => ({ sort: state.sort, after: state.after, before: state.before }), [state.sort, state.after, state.before]);

  const onQuery = useCallback((text: string) => dispatch({ type: "setQuery", q: text }), [dispatch]);
  const openPhoto = useCallback((id: number) => dispatch({ type: "openPhoto", id }), [dispatch]);

  const search = useSearch(profile.name, state.q, maxQueryLength, filters);
  const timeline = useTimeline(profile.name, state.sort === "oldest" ? "oldest" : "newest", browsing && !empty);
  const suggestions = useSuggestions(profile.name, profile.photo_count);
  // Bumped when the outdated count may have changed: a job finished, or photos were deleted or restored.
  const [recount, setRecount] = useState(0);
  const outdated = useOutdated(profile.name, profile.photo_count, recount);
  const onDeletedOrRestored = useCallback(() => {
    onPhotosChanged();
    setRecount((n) => n + 1);
  }, [onPhotosChanged]);
  const deletion = useUndoableDelete(profile.name, onDeletedOrRestored);
  const [actionError, setActionError] = useState<string | null>(null);
  const lastRefresh = useRef(0);

  const onJobChange = useCallback(
    (_job: Job, finishedNow: boolean) => {
      const now = Date.now();
      // the photo count follows the job: on every finish, and every 2 s while it runs
      if (finishedNow || now - lastRefresh.current > 2000) {
        lastRefresh.current = now;
        onPhotosChanged();
      }
      if (finishedNow) {
        search.reload();
        timeline.reload();
        setRecount((n) => n + 1);
      }
    },
    [onPhotosChanged, search.reload, timeline.reload],
  );
  const { jobs, addJob, dismiss, cancel, pollError } = useJobs(profile.name, onJobChange);
  const active = jobs.some((j) => !isJobFinished(j));
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

  // ------------------------------------------------------------------ what is shown, in order
  const shownResults = useMemo(() => {
    const visible = search.results.filter((r) => !deletion.hidden.has(r.photo.id));
    const { strong, weak } = splitByStrength(visible);
    return [...strong, ...weak];
  }, [search.results, deletion.hidden]);
  const shownTimeline = useMemo(
    () =>
      timeline.photos.filter(
        (p) =>
          !deletion.hidden.has(p.id) &&
          // the server filters too where it can; this keeps the range honest where it cannot
          (!state.after || !p.taken_at || dayOf(p) >= state.after) &&
          (!state.before || !p.taken_at || dayOf(p) <= state.before),
      ),
    [timeline.photos, deletion.hidden, state.after, state.before],
  );
  const order = useMemo(
    () => (browsing ? shownTimeline.map((p) => p.id) : shownResults.map((r) => r.photo.id)),
    [browsing, shownTimeline, shownResults],
  );

  // ------------------------------------------------------------------ selection
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  useEffect(() => setSelection((s) => keepShown(s, order)), [order]);
  const selectOne = useCallback(
    (id: number, range: boolean) => setSelection((s) => (range ? selectRange(s, order, id) : toggleOne(s, id))),
    [order],
  );
  const actions: CardActions = useMemo(
    () => ({
      href: hrefFor,
      onOpen: openPhoto,
      onSelect: selectOne,
      isSelected: (id) => selection.ids.has(id),
      selecting: selection.ids.size > 0,
    }),
    [hrefFor, openPhoto, selectOne, selection],
  );

  const deletePhotos = useCallback(
    (ids: number[]) => {
      setSelection(NO_SELECTION);
      void deletion.remove(ids);
    },
    [deletion.remove],
  );

  // ------------------------------------------------------------------ the open photo
  const photo = state.photo;
  const idx = photo == null ? -1 : order.indexOf(photo);
  const onPrev = idx > 0 ? () => openPhoto(order[idx - 1]) : undefined;
  const onNext = idx >= 0 && idx < order.length - 1 ? () => openPhoto(order[idx + 1]) : undefined;
  const openResult = photo == null ? undefined : search.results.find((r) => r.photo.id === photo);
  const deleteOpen = (id: number) => {
    const i = order.indexOf(id);
    const next = order[i + 1] ?? order[i - 1];
    if (next != null && i >= 0) openPhoto(next);
    else closePhoto();
    deletePhotos([id]);
  };

  // focus goes back to the card of the photo last shown when the view closes
  const lastOpen = useRef<number | null>(null);
  useEffect(() => {
    if (photo != null) {
      lastOpen.current = photo;
      return;
    }
    const id = lastOpen.current;
    lastOpen.current = null;
    if (id == null) return;
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`.card-link[data-photo-id="${id}"]`)?.focus());
  }, [photo]);

  // ------------------------------------------------------------------ keyboard
  const searchRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      if (document.querySelector("dialog[open]")) return;
      e.preventDefault();
      searchRef.current?.focus();
      searchRef.current?.select();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  /** Arrows move between photos, Shift+arrows and Space select, Delete deletes, Esc lets go. */
  const onGridKey = (e: KeyboardEvent<HTMLElement>) => {
    const target = e.target as HTMLElement;
    if (!target.classList.contains("card-link")) return;
    const links = Array.from(e.currentTarget.querySelectorAll<HTMLElement>(".card-link"));
    const here = links.indexOf(target);
    const id = Number(target.dataset.photoId);
    if (isArrowKey(e.key)) {
      e.preventDefault();
      const boxes = links.map((l) => l.getBoundingClientRect());
      const to = neighbourIndex(boxes, here, e.key);
      const next = links[to];
      if (!next) return;
      next.focus();
      next.scrollIntoView({ block: "nearest" });
      if (e.shiftKey) {
        const toId = Number(next.dataset.photoId);
        setSelection((s) => selectRange(s.anchor == null ? toggleOne(s, id) : s, order, toId));
      }
    } else if (e.key === " ") {
      e.preventDefault();
      selectOne(id, e.shiftKey);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      deletePhotos(selection.ids.size ? [...selection.ids] : [id]);
    } else if (e.key === "Escape" && selection.ids.size) {
      e.preventDefault();
      setSelection(NO_SELECTION);
    } else if ((e.key === "a" || e.key === "A") && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      setSelection({ ids: new Set(order), anchor: id });
    }
  };

  // ------------------------------------------------------------------ actions
  const describeAgain = async () => {
    // photos today's models described are skipped: say which ones will be described when that is known
    const which = outdated ? `the ${plural(outdated, "photo")} older models described` : `all ${plural(profile.photo_count, "photo")}`;
    if (!window.confirm(`Describe ${which} in “${profileLabel(profile)}” again with today's models?`)) return;
    setActionError(null);
    try {
      addJob(await api.redescribe(profile.name));
    } catch (err) {
      setActionError(`Could not start describing again: ${errorText(err)}`);
    }
  };

  const undoToast = deletion.pending && (
    <UndoToast pending={deletion.pending} onUndo={() => void deletion.undo()} onDismiss={deletion.dismiss} />
  );
  const searching = search.loading || (search.stale && q !== "" && q.length <= maxQueryLength);
  const timelineMissing = timeline.error != null && timeline.photos.length === 0;

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
            Describe the photo you are looking for (press / to come back here)
          </label>
          <input
            ref={searchRef}
            id="search-input"
            data-testid="search-input"
            type="search"
            value={state.q}
            placeholder={empty ? "Add photos first, then describe what you're looking for" : `Describe a photo in “${profileLabel(profile)}”…`}
            autoComplete="off"
            spellCheck={false}
            aria-keyshortcuts="/"
            onChange={(e) => onQuery(e.target.value)}
          />
          {searching && <Spinner inline label="Searching…" />}
        </div>
        <div className="search-meta">
          <span className="muted" data-testid="profile-count">
            {plural(profile.photo_count, "photo")} in {profileLabel(profile)}
          </span>
          <div className="collection-actions">
            {outdated !== null && outdated > 0 && !active && (
              <span className="muted small" data-testid="outdated">
                {plural(outdated, "photo")} described by older models
              </span>
            )}
            {!empty && outdated !== 0 && ( // with every photo described by today's models there is nothing to redo
              <button type="button" className="btn btn-small" data-testid="redescribe" onClick={() => void describeAgain()}>
                Describe again
              </button>
            )}
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
        </div>
        {!empty && (
          <SearchFilters
            sort={state.sort}
            after={state.after}
            before={state.before}
            browsing={browsing}
            onChange={(f) => dispatch({ type: "setFilters", ...f })}
            onClear={() => dispatch({ type: "clearFilters" })}
          />
        )}
      </section>

      {actionError && <ErrorMessage error={actionError} onDismiss={() => setActionError(null)} />}
      {showSources && <SourcesPanel profile={profile.name} onJob={addJob} />}

      {jobs.length > 0 && (
        <section className="jobs" aria-label="Indexing">
          {pollError && <ErrorMessage error={pollError} />}
          {jobs.map((j) => (
            <JobProgress key={j.id} job={j} onDismiss={() => dismiss(j.id)} onCancel={() => cancel(j.id)} />
          ))}
        </section>
      )}

      {selection.ids.size > 0 && (
        <SelectionBar
          count={selection.ids.size}
          onDelete={() => deletePhotos([...selection.ids])}
          onClear={() => setSelection(NO_SELECTION)}
          onSelectAll={selection.ids.size < order.length ? () => setSelection((s) => ({ ids: new Set(order), anchor: s.anchor })) : undefined}
        />
      )}

      <section className="results" aria-live="polite" aria-busy={searching || timeline.loading} onKeyDown={onGridKey}>
        {search.error && !browsing && <ErrorMessage error={search.error} testId="search-error" onRetry={search.reload} />}

        {browsing && empty && !active && (
          <div className="empty-state" data-testid="empty-collection">
            <p>
              <strong>This collection has no photos yet.</strong> Add some above — they're described automatically so
              you can search them.
            </p>
          </div>
        )}
        {browsing && !empty && (
          <>
            {suggestions.length > 0 && (
              <div className="browse-hint" data-testid="search-hint">
                <span className="muted">Try:</span>
                <Suggestions items={suggestions} onPick={onQuery} />
              </div>
            )}
            {timeline.unavailable ? (
              <p className="empty-state" data-testid="search-hint">
                Type what you remember about a photo — things, places, colours, activities.
              </p>
            ) : timelineMissing ? (
              <ErrorMessage error={`Could not show the photos by date: ${timeline.error}`} onRetry={timeline.reload} testId="timeline-error" />
            ) : !timeline.loaded ? (
              <Spinner label="Loading photos…" />
            ) : (
              <Timeline
                photos={shownTimeline}
                total={timeline.total}
                hasMore={timeline.hasMore}
                loading={timeline.loading}
                onMore={timeline.loadMore}
                actions={actions}
              />
            )}
          </>
        )}

        {!browsing && !search.error && search.query !== "" && !(search.loading && search.results.length === 0 && search.stale) && (
          <SearchResults
            search={{ ...search, results: shownResults }}
            sortLabel={SORT_WORDS[state.sort]}
            suggestions={suggestions}
            actions={actions}
            stale={search.stale || search.loading}
            onQuery={onQuery}
            onMore={search.loadMore}
          />
        )}
      </section>

      {photo != null && (
        <PhotoView
          photoId={photo}
          result={openResult}
          onClose={closePhoto}
          onOpen={openPhoto}
          onPrev={onPrev}
          onNext={onNext}
          onDelete={deleteOpen}
        >
          {undoToast}
        </PhotoView>
      )}
      {photo == null && undoToast}
    </div>
  );
}
