import "./PhotoView.css";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { api, type PhotoDetail, type SearchResult, type SimilarResult } from "../api";
import { formatBytes, formatDateTime, formatPercent, plainReasons, rawScores, sourceName } from "../lib/format";
import { AttentionHeatmap } from "./AttentionHeatmap";
import { AttentionWords } from "./AttentionWords";
import { errorText } from "../lib/errors";
import { ErrorMessage } from "./ErrorMessage";
import { Spinner } from "./Spinner";

type Load<T> = { state: "loading" } | { state: "error"; error: string } | { state: "ok"; data: T };

/**
 * The photo view: a modal dialog over the grid. Esc closes it at once, ←/→ step through the grid's
 * photos, Delete removes this one (with Undo on the page).
 */
export function PhotoView({
  photoId,
  result,
  onClose,
  onOpen,
  onPrev,
  onNext,
  onDelete,
  children,
}: {
  photoId: number;
  /** The search result it was opened from: why it matched. */
  result?: SearchResult;
  onClose: () => void;
  onOpen: (id: number) => void;
  onPrev?: () => void;
  onNext?: () => void;
  onDelete?: (id: number) => void;
  /** Shown inside the dialog (a modal dialog makes the page under it unreachable): the Undo notice. */
  children?: ReactNode;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const closed = useRef(false);
  const close = () => {
    if (closed.current) return; // Esc reaches both the window listener and the dialog's cancel
    closed.current = true;
    onClose();
  };
  const closeRef = useRef(close);
  closeRef.current = close;
  const [detail, setDetail] = useState<Load<PhotoDetail>>({ state: "loading" });
  const [similar, setSimilar] = useState<Load<SimilarResult[]>>({ state: "loading" });
  const [retry, setRetry] = useState(0);

  useEffect(() => {
    const d = dialogRef.current;
    if (d && !d.open) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
  }, []);

  useEffect(() => {
    const ctrl = new AbortController();
    setDetail({ state: "loading" });
    setSimilar({ state: "loading" });
    api.getPhoto(photoId, ctrl.signal).then(
      (data) => setDetail({ state: "ok", data }),
      (e) => !ctrl.signal.aborted && setDetail({ state: "error", error: errorText(e) }),
    );
    api.similar(photoId, 12, ctrl.signal).then(
      (data) => setSimilar({ state: "ok", data: data.filter((r) => r.photo.id !== photoId) }),
      (e) => !ctrl.signal.aborted && setSimilar({ state: "error", error: errorText(e) }),
    );
    dialogRef.current?.querySelector(".photo-view-body")?.scrollTo?.({ top: 0 });
    return () => ctrl.abort();
  }, [photoId, retry]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        closeRef.current();
        return;
      }
      const t = e.target as HTMLElement | null;
      if (t?.closest?.(".attention-words") || t?.tagName === "INPUT" || t?.tagName === "SUMMARY") return;
      if (e.key === "ArrowLeft" && onPrev) onPrev();
      if (e.key === "ArrowRight" && onNext) onNext();
      if (e.key === "Delete" && onDelete) onDelete(photoId);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onPrev, onNext, onDelete, photoId]);

  return (
    <dialog
      ref={dialogRef}
      className="photo-view"
      data-testid="photo-view"
      aria-label="Photo details"
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
      onClick={(e) => {
        if (e.target === dialogRef.current) close(); // click on the backdrop
      }}
    >
      <div className="photo-view-bar">
        <div className="photo-view-nav">
          {onPrev && (
            <button type="button" className="btn btn-small" onClick={onPrev} aria-label="Previous result">
              ‹ Previous
            </button>
          )}
          {onNext && (
            <button type="button" className="btn btn-small" onClick={onNext} aria-label="Next result">
              Next ›
            </button>
          )}
        </div>
        <div className="photo-view-actions">
          {onDelete && (
            <button
              type="button"
              className="btn btn-small btn-danger"
              onClick={() => onDelete(photoId)}
              data-testid="photo-delete"
              title="Delete this photo (Delete key); you can undo for a few seconds"
            >
              Delete
            </button>
          )}
          <button type="button" className="btn-icon close" onClick={close} aria-label="Close" data-testid="photo-view-close">
            ×
          </button>
        </div>
      </div>
      <div className="photo-view-body">
        {detail.state === "loading" && <Spinner label="Loading photo…" />}
        {detail.state === "error" && <ErrorMessage error={detail.error} onRetry={() => setRetry((r) => r + 1)} />}
        {detail.state === "ok" && <PhotoDetails photo={detail.data} result={result?.photo.id === photoId ? result : undefined} />}
        <section className="similar" data-testid="similar" aria-label="Similar photos">
          <h3 className="section-title">Similar photos</h3>
          {similar.state === "loading" && <Spinner inline label="Finding similar photos…" />}
          {similar.state === "error" && <ErrorMessage error={similar.error} />}
          {similar.state === "ok" && similar.data.length === 0 && <p className="muted">No similar photos yet.</p>}
          {similar.state === "ok" && similar.data.length > 0 && (
            <ul className="similar-grid">
              {similar.data.map((r) => (
                <li key={r.photo.id}>
                  <button
                    type="button"
                    className="similar-item"
                    onClick={() => onOpen(r.photo.id)}
                    title={r.photo.caption ?? sourceName(r.photo.source)}
                    data-testid="similar-item"
                  >
                    <img src={r.photo.thumbnail_url} alt={r.photo.caption ?? sourceName(r.photo.source)} loading="lazy" />
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      {children}
    </dialog>
  );
}

/** Which sentence is shown, and why: the captioner's own, or one built from the labels (and, where they are unsure,
 * the scene the joint space is sure of: "Possibly the sky or a parachute."), whichever the joint image-text space
 * finds closer to the photo (the caption's confidence is 50 % at a tie). */
function describedBy(photo: PhotoDetail): { text: string | null; provenance: string | null; shown: "caption" | "grounded" } {
  const d = photo.description;
  if (!d) return { text: photo.caption, provenance: photo.caption ? "Written by the captioner" : null, shown: "caption" };
  const conf = typeof d.caption_confidence === "number" ? ` (its confidence: ${formatPercent(d.caption_confidence)})` : "";
  if (d.shown === "grounded" && d.grounded_caption) {
    return {
      text: d.grounded_caption,
      provenance: `Built from the labels below and the scene that search recognises — it fits the photo better than the captioner's own sentence${conf}`,
      shown: "grounded",
    };
  }
  const text = d.caption ?? photo.caption;
  return { text, provenance: text ? `Written by the captioner${conf}` : null, shown: "caption" };
}

function PhotoDetails({ photo, result }: { photo: PhotoDetail; result?: SearchResult }) {
  const [pinned, setPinned] = useState<number | null>(null);
  const [preview, setPreview] = useState<number | null>(null);
  const [imgLoaded, setImgLoaded] = useState(false);
  const att = photo.attention;
  const usable =
    att && att.maps.length > 0 && att.words.length > 0 && Array.isArray(att.grid) && att.grid.length === 2 ? att : null;
  const active = preview ?? pinned;
  const map = usable && active != null ? (usable.maps[active] ?? null) : null;
  const aspect = photo.width && photo.height ? photo.width / photo.height : 4 / 3;
  const name = sourceName(photo.source);
  const description = describedBy(photo);
  const reasons = result ? plainReasons(result) : (photo.reasons ?? []);
  const size = [photo.width > 0 ? `${photo.width} × ${photo.height}` : "", formatBytes(photo.bytes)].filter(Boolean).join(" · ");
  const d = photo.description;
  const other = d && description.shown === "grounded" ? d.caption : d?.grounded_caption;
  // the captioner's best sentence is usually its first alternative too: list only the others
  const shownText = description.text?.trim().toLowerCase();
  const alternatives = photo.alternatives.filter((a) => a.text.trim().toLowerCase() !== shownText);

  useEffect(() => {
    setPinned(null);
    setPreview(null);
    setImgLoaded(false);
  }, [photo.id]);

  return (
    <div className="photo-view-main">
      <figure className="photo-figure">
        <div
          className={imgLoaded ? "photo-frame" : "photo-frame loading"}
          style={{ aspectRatio: `${aspect}`, width: `min(100%, calc(var(--photo-max-h) * ${aspect}))` }}
        >
          <img
            src={photo.image_url}
            alt={description.text ?? name}
            data-testid="photo-view-image"
            onLoad={() => setImgLoaded(true)}
          />
          {usable && description.shown === "caption" && (
            <AttentionHeatmap map={map} grid={usable.grid} aspect={aspect} visible={map != null} />
          )}
          {usable && description.shown === "caption" && active != null && (
            <span className="heatmap-word" aria-live="polite">
              “{usable.words[active]}”
            </span>
          )}
        </div>
      </figure>

      <div className="photo-info">
        {description.text ? (
          <p className="photo-caption" data-testid="photo-view-caption" data-shown={description.shown}>
            {description.text}
          </p>
        ) : (
          <p className="photo-caption photo-caption-none muted" data-testid="photo-view-caption">
            No caption yet{photo.labels.length ? " — it is found by what is in it" : ""}
          </p>
        )}
        {description.provenance && (
          <p className="muted small" data-testid="photo-provenance">
            {description.provenance}
          </p>
        )}
        {photo.error && <ErrorMessage error={`This photo could not be fully described: ${photo.error}`} />}

        {reasons.length > 0 && (
          <section className="why-matched" aria-label="Why it matched" data-testid="photo-why">
            <h3 className="section-title">Why it matched</h3>
            <ul>
              {reasons.map((r, i) => (
                <li key={i} data-kind={r.kind}>
                  {r.text}
                </li>
              ))}
            </ul>
            {result && (
              <details className="raw-scores" data-testid="photo-scores">
                <summary>Details</summary>
                <p className="muted small">{rawScores(result)}</p>
              </details>
            )}
          </section>
        )}

        <dl className="photo-facts" data-testid="photo-facts">
          {photo.taken_at && (
            <>
              <dt>{photo.date_source === "added" ? "Added" : "Taken"}</dt>
              <dd data-testid="photo-date">{formatDateTime(photo.taken_at)}</dd>
            </>
          )}
          {photo.camera && (
            <>
              <dt>Camera</dt>
              <dd data-testid="photo-camera">{photo.camera}</dd>
            </>
          )}
          {size && (
            <>
              <dt>Size</dt>
              <dd data-testid="photo-size">{size}</dd>
            </>
          )}
          <dt>Source</dt>
          <dd className="photo-source" title={photo.source} data-testid="photo-source">
            {name}
          </dd>
          {photo.has_gps && (
            <>
              <dt>Location</dt>
              <dd>Recorded in the file</dd>
            </>
          )}
        </dl>

        {usable && description.shown === "caption" && (
          <AttentionWords attention={usable} pinned={pinned} preview={preview} onPin={setPinned} onPreview={setPreview} />
        )}

        {photo.labels.length > 0 && (
          <section aria-label="Labels">
            <h3 className="section-title">What's in it</h3>
            <ul className="label-bars" data-testid="photo-labels">
              {photo.labels.map((l) => (
                <li key={l.label} className="label-bar" data-testid="photo-label">
                  <span className="label-name" title={l.label}>
                    {l.label}
                  </span>
                  <span className="bar" aria-hidden="true">
                    <span className="bar-fill" style={{ width: `${Math.max(1, Math.min(100, l.score * 100))}%` }} />
                  </span>
                  <span className="label-score">{formatPercent(l.score)}</span>
                </li>
              ))}
            </ul>
          </section>
        )}

        {alternatives.length > 0 && (
          <section aria-label="Other descriptions">
            <h3 className="section-title">Other ways the captioner put it</h3>
            <ul className="alternatives" data-testid="photo-alternatives">
              {alternatives.map((a, i) => (
                <li key={i}>{a.text}</li>
              ))}
            </ul>
          </section>
        )}

        {(photo.poster_caption || photo.hashtags.length > 0) && (
          <section className="poster" aria-label="From the original post" data-testid="photo-poster">
            <h3 className="section-title">From the original post</h3>
            {photo.poster_caption && <p className="poster-caption">{photo.poster_caption}</p>}
            {photo.hashtags.length > 0 && (
              <ul className="chips">
                {photo.hashtags.map((h) => (
                  <li key={h} className="chip">
                    #{h.replace(/^#/, "")}
                  </li>
                ))}
              </ul>
            )}
          </section>
        )}

        {(photo.model || other) && (
          <details className="about-description" data-testid="about-description">
            <summary>About this description</summary>
            {other && (
              <p className="small">
                {description.shown === "grounded" ? "The captioner's own sentence: " : "Built from the labels and the scene that search recognises: "}“{other}”
              </p>
            )}
            {photo.model && <p className="muted small">Models: {photo.model}</p>}
          </details>
        )}
        <p className="photo-links">
          <a href={photo.image_url} target="_blank" rel="noreferrer">
            Open full size
          </a>
        </p>
      </div>
    </div>
  );
}
