import "./PhotoGrid.css";
import type { PhotoSummary, SearchResult } from "../api";
import { PhotoCard, type CardActions } from "./PhotoCard";

/** A grid of search results (best first) or of timeline photos; keyboard handling is the page's. */
export function PhotoGrid({
  results,
  photos,
  actions,
  label,
  testId,
  rankFrom = 1,
  compact = false,
}: {
  results?: SearchResult[];
  photos?: PhotoSummary[];
  actions: CardActions;
  label: string;
  testId: string;
  rankFrom?: number;
  compact?: boolean;
}) {
  return (
    <ol
      className={`grid${compact ? " grid-compact" : ""}${actions.selecting ? " grid-selecting" : ""}`}
      data-testid={testId}
      aria-label={label}
    >
      {results?.map((r, i) => (
        <PhotoCard key={r.photo.id} photo={r.photo} result={r} rank={rankFrom + i} actions={actions} />
      ))}
      {photos?.map((p) => <PhotoCard key={p.id} photo={p} actions={actions} />)}
    </ol>
  );
}
