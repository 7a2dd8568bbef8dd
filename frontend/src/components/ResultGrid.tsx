import "./ResultGrid.css";
import type { SearchResult } from "../api";
import { ResultCard } from "./ResultCard";

export function ResultGrid({
  results,
  hrefFor,
  onOpen,
}: {
  results: SearchResult[];
  hrefFor: (id: number) => string;
  onOpen: (id: number) => void;
}) {
  return (
    <ol className="grid" data-testid="results" aria-label="Matching photos, best first">
      {results.map((r, i) => (
        <ResultCard key={r.photo.id} result={r} rank={i + 1} href={hrefFor(r.photo.id)} onOpen={onOpen} />
      ))}
    </ol>
  );
}
