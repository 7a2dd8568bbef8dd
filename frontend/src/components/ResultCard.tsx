import "./ResultCard.css";
import type { MouseEvent } from "react";
import type { Label, SearchResult } from "../api";
import { describeMatch, formatPercent, sourceName } from "../lib/format";
import { Highlight } from "./Highlight";

export function labelMatches(label: Label, matched: string[]): boolean {
  const words = label.label.toLowerCase().split(/[\s,_-]+/);
  return matched.some((m) => words.includes(m.toLowerCase()));
}

export function ResultCard({
  result,
  rank,
  href,
  onOpen,
}: {
  result: SearchResult;
  rank: number;
  href: string;
  onOpen: (id: number) => void;
}) {
  const { photo } = result;
  const why = describeMatch(result);
  const name = sourceName(photo.source);
  const labels = photo.labels.slice(0, 3);

  const open = (e: MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return; // let the browser open a new tab
    e.preventDefault();
    onOpen(photo.id);
  };

  return (
    <li className="card" data-testid="result-card" data-photo-id={photo.id} data-source={photo.source} data-rank={rank}>
      <a href={href} onClick={open} className="card-link" aria-label={`Open photo ${rank}: ${photo.caption ?? name}`}>
        <div className="thumb">
          <img src={photo.thumbnail_url} alt={photo.caption ?? name} loading="lazy" decoding="async" />
        </div>
        <div className="card-body">
          <p className="caption" data-testid="result-caption">
            {photo.caption || result.highlight.length ? (
              <Highlight segments={result.highlight} fallback={photo.caption} />
            ) : (
              <span className="muted">No caption</span>
            )}
          </p>
          {labels.length > 0 && (
            <ul className="chips" aria-label="Top labels">
              {labels.map((l) => (
                <li key={l.label} className={labelMatches(l, result.matched) ? "chip chip-match" : "chip"}>
                  {l.label} <span className="chip-score">{formatPercent(l.score)}</span>
                </li>
              ))}
            </ul>
          )}
          {why && (
            <p className="why" data-testid="result-why" title="Why this photo matched">
              {why}
            </p>
          )}
        </div>
      </a>
    </li>
  );
}

