import "./PhotoView.css";
import { useEffect, useRef, useState } from "react";
import { api, type PhotoDetail, type SimilarResult } from "../api";
import { formatDate, formatPercent, formatScore, sourceName } from "../lib/format";
import { AttentionHeatmap } from "./AttentionHeatmap";
import { AttentionWords } from "./AttentionWords";
import { errorText } from "../lib/errors";
import { ErrorMessage } from "./ErrorMessage";
import { Spinner } from "./Spinner";

type Load<T> = { state: "loading" } | { state: "error"; error: string } | { state: "ok"; data: T };

/** The photo view: a modal dialog over the results. */
export function PhotoView({
  photoId,
  onClose,
  onOpen,
  onPrev,
  onNext,
}: {
  photoId: number;
  onClose: () => void;
  onOpen: (id: number) => void;
  onPrev?: () => void;
  onNext?: () => void;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
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
      const t = e.target as HTMLElement | null;
      if (t?.closest?.(".attention-words") || t?.tagName === "INPUT") return;
      if (e.key === "ArrowLeft" && onPrev) onPrev();
      if (e.key === "ArrowRight" && onNext) onNext();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onPrev, onNext]);

  return (
    <dialog
      ref={dialogRef}
      className="photo-view"
      data-testid="photo-view"
      aria-label="Photo details"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === dialogRef.current) onClose(); // click on the backdrop
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
        <button type="button" className="btn-icon close" onClick={onClose} aria-label="Close" data-testid="photo-view-close">
          ×
        </button>
      </div>
      <div className="photo-view-body">
        {detail.state === "loading" && <Spinner label="Loading photo…" />}
        {detail.state === "error" && <ErrorMessage error={detail.error} onRetry={() => setRetry((r) => r + 1)} />}
        {detail.state === "ok" && <PhotoDetails photo={detail.data} />}
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
                    title={`${r.photo.caption ?? sourceName(r.photo.source)} — similarity ${formatScore(r.score)}`}
                    data-testid="similar-item"
                  >
                    <img src={r.photo.thumbnail_url} alt={r.photo.caption ?? sourceName(r.photo.source)} loading="lazy" />
                    <span className="similar-score">{formatScore(r.score)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </dialog>
  );
}

function PhotoDetails({ photo }: { photo: PhotoDetail }) {
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
            alt={photo.caption ?? name}
            data-testid="photo-view-image"
            onLoad={() => setImgLoaded(true)}
          />
          {usable && <AttentionHeatmap map={map} grid={usable.grid} aspect={aspect} visible={map != null} />}
          {usable && active != null && (
            <span className="heatmap-word" aria-live="polite">
              “{usable.words[active]}”
            </span>
          )}
        </div>
        <figcaption className="photo-source" title={photo.source}>
          {name}
          {photo.width > 0 && (
            <span className="muted">
              {" "}
              · {photo.width}×{photo.height}
            </span>
          )}
        </figcaption>
      </figure>

      <div className="photo-info">
        {photo.caption ? (
          <p className="photo-caption" data-testid="photo-view-caption">
            {photo.caption}
          </p>
        ) : (
          <p className="photo-caption photo-caption-none muted" data-testid="photo-view-caption">
            No caption yet{photo.labels.length ? " — it is found by what is in it" : ""}
          </p>
        )}
        {photo.model && <p className="muted small">Described by {photo.model}</p>}
        {photo.error && <ErrorMessage error={`This photo could not be fully described: ${photo.error}`} />}

        {usable && (
          <AttentionWords
            attention={usable}
            pinned={pinned}
            preview={preview}
            onPin={setPinned}
            onPreview={setPreview}
          />
        )}

        {photo.labels.length > 0 && (
          <section aria-label="Labels">
            <h3 className="section-title">What's in it</h3>
            <ul className="label-bars" data-testid="photo-labels">
              {photo.labels.map((l) => (
                <li key={l.label} className="label-bar" data-testid="photo-label">
                  <span className="label-name">{l.label}</span>
                  <span className="bar" aria-hidden="true">
                    <span className="bar-fill" style={{ width: `${Math.max(1, Math.min(100, l.score * 100))}%` }} />
                  </span>
                  <span className="label-score">{formatPercent(l.score)}</span>
                </li>
              ))}
            </ul>
          </section>
        )}

        {photo.alternatives.length > 0 && (
          <section aria-label="Other descriptions">
            <h3 className="section-title">Other descriptions</h3>
            <ol className="alternatives" data-testid="photo-alternatives">
              {photo.alternatives.map((a, i) => (
                <li key={i}>
                  <span>{a.text}</span>
                  <span className="alt-score" title="Captioner score">
                    {formatScore(a.score)}
                  </span>
                </li>
              ))}
            </ol>
          </section>
        )}

        {(photo.poster_caption || photo.hashtags.length > 0 || photo.taken_at) && (
          <section className="poster" aria-label="From the original post" data-testid="photo-poster">
            <h3 className="section-title">From the original post</h3>
            {photo.taken_at && <p className="muted">{formatDate(photo.taken_at)}</p>}
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
        <p className="photo-links">
          <a href={photo.image_url} target="_blank" rel="noreferrer">
            Open full size
          </a>
        </p>
      </div>
    </div>
  );
}
