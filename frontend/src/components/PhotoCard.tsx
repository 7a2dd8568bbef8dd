import type { MouseEvent } from "react";
import "./PhotoCard.css";
import type { Label, PhotoSummary, SearchResult } from "../api";
import { formatPercent, plainReasons, shownSentence, sourceName } from "../lib/format";
import { Highlight } from "./Highlight";

export function labelMatches(label: Label, matched: string[]): boolean {
  const words = label.label.toLowerCase().split(/[\s,_-]+/);
  return matched.some((m) => words.includes(m.toLowerCase()));
}

export interface CardActions {
  href: (id: number) => string;
  onOpen: (id: number) => void;
  /** `range`: shift-click, select everything from the last photo picked to this one. */
  onSelect: (id: number, range: boolean) => void;
  isSelected: (id: number) => boolean;
  /** While anything is selected a plain click selects too (as in Google Photos). */
  selecting: boolean;
}

/**
 * One photo in a grid: a search result (caption with matched words, top labels, why it matched) or,
 * with no `result`, a timeline thumbnail. The corner button (or shift-click, or Space) selects it.
 */
export function PhotoCard({
  photo,
  result,
  rank,
  actions,
}: {
  photo: PhotoSummary;
  result?: SearchResult;
  rank?: number;
  actions: CardActions;
}) {
  const name = sourceName(photo.source);
  const selected = actions.isSelected(photo.id);
  const sentence = shownSentence(photo);
  const described = sentence.text ?? (photo.labels[0]?.label || name);

  const click = (e: MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.button !== 0) return; // let the browser open a new tab
    e.preventDefault();
    if (e.shiftKey) actions.onSelect(photo.id, true);
    else if (actions.selecting) actions.onSelect(photo.id, false);
    else actions.onOpen(photo.id);
  };

  return (
    <li
      className={`card${result ? "" : " card-compact"}${selected ? " card-selected" : ""}`}
      data-testid={result ? "result-card" : "timeline-card"}
      data-photo-id={photo.id}
      data-source={photo.source}
      data-rank={rank}
      data-selected={selected ? "true" : "false"}
    >
      <button
        type="button"
        className="card-select"
        tabIndex={-1}
        aria-pressed={selected}
        aria-label={selected ? "Unselect photo" : "Select photo"}
        data-testid="card-select"
        onClick={(e) => actions.onSelect(photo.id, e.shiftKey)}
      >
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <path fill="currentColor" d="M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4L9 16.2z" />
        </svg>
      </button>
      <a
        href={actions.href(photo.id)}
        onClick={click}
        className="card-link"
        data-photo-id={photo.id}
        aria-label={`${rank ? `Photo ${rank}: ` : ""}${described}${selected ? " (selected)" : ""}`}
      >
        <div className="thumb">
          <img src={photo.thumbnail_url} alt={sentence.text ?? name} loading="lazy" decoding="async" />
        </div>
        {result && <ResultBody result={result} />}
      </a>
    </li>
  );
}

function ResultBody({ result }: { result: SearchResult }) {
  const { photo } = result;
  const reasons = plainReasons(result);
  const labels = photo.labels.slice(0, 3);
  const sentence = shownSentence(photo);
  return (
    <div className="card-body">
      <p className="caption" data-testid="result-caption">
        {sentence.grounded ? (
          <span>{sentence.text}</span>
        ) : photo.caption || result.highlight.length ? (
          <Highlight segments={result.highlight} fallback={photo.caption} />
        ) : (
          <span className="muted">No caption</span>
        )}
      </p>
      {labels.length > 0 && (
        <ul className="chips" aria-label="Top labels">
          {labels.map((l) => (
            <li key={l.label} className={labelMatches(l, result.matched) ? "chip chip-match" : "chip"} title={l.label}>
              <span className="chip-text">{l.label}</span> <span className="chip-score">{formatPercent(l.score)}</span>
            </li>
          ))}
        </ul>
      )}
      {reasons.length > 0 && (
        <p className="why" data-testid="result-why">
          <span className="visually-hidden">Why it matched: </span>
          {reasons.map((r) => r.text).join(" · ")}
        </p>
      )}
    </div>
  );
}
