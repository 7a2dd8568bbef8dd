import "./SearchResults.css";
import type { SearchResult } from "../api";
import { plural } from "../lib/format";
import type { CardActions } from "./PhotoCard";
import { PhotoGrid } from "./PhotoGrid";
import { Suggestions } from "./Suggestions";

export interface ShownSearch {
  query: string;
  results: SearchResult[];
  total: number;
  matches: number;
  didYouMean: string | null;
  searchedFor?: string;
  notice: string | null;
  loadingMore: boolean;
}

/** Results above the cut-off count as matches; the rest stay below it, behind a "weaker matches" fold. */
export function splitByStrength(results: SearchResult[]): { strong: SearchResult[]; weak: SearchResult[] } {
  const strong: SearchResult[] = [];
  const weak: SearchResult[] = [];
  for (const r of results) (r.strong === false ? weak : strong).push(r);
  return { strong, weak };
}

/**
 * The answer to a query: a notice when the words could not be used, "Did you mean …?", the matches
 * (best first, or by date), and the weaker ones folded away; "No photo matches …" with suggestions
 * when nothing passes the cut-off.
 */
export function SearchResults({
  search,
  sortLabel,
  suggestions,
  actions,
  stale,
  onQuery,
  onMore,
}: {
  search: ShownSearch;
  sortLabel: string;
  suggestions: string[];
  actions: CardActions;
  stale: boolean;
  onQuery: (q: string) => void;
  onMore: () => void;
}) {
  const { strong, weak } = splitByStrength(search.results);
  const words = search.searchedFor || search.query;
  const weakerTotal = Math.max(0, search.total - search.matches);
  const left = search.total - search.results.length;
  const moreStrong = strong.length < search.matches && left > 0;
  const more = (label: string) => (
    <div className="load-more">
      <button type="button" className="btn" onClick={onMore} disabled={search.loadingMore} data-testid="show-more">
        {search.loadingMore ? "Loading…" : label}
      </button>
    </div>
  );

  return (
    <div className={stale ? "search-results results-stale" : "search-results"}>
      {search.notice && (
        <p className="search-notice" role="status" data-testid="search-notice">
          {search.notice}
        </p>
      )}
      {search.didYouMean && (
        <p className="did-you-mean" data-testid="did-you-mean">
          Did you mean{" "}
          <button type="button" className="link-button" onClick={() => onQuery(search.didYouMean!)}>
            {search.didYouMean}
          </button>
          ?{words === search.didYouMean && <span className="muted"> The photos below are for “{words}”.</span>}
        </p>
      )}

      {search.matches > 0 ? (
        <>
          <p className="result-count muted" data-testid="result-count">
            {plural(search.matches, "photo")} {search.matches === 1 ? "matches" : "match"} “{words}”, {sortLabel}
          </p>
          <PhotoGrid results={strong} actions={actions} label={`Photos matching ${words}, ${sortLabel}`} testId="results" />
          {moreStrong && more(`Show more (${search.matches - strong.length} left)`)}
        </>
      ) : (
        !search.notice && (
          <div className="empty-state" data-testid="no-results">
            <p>
              No photo matches <strong>“{words}”</strong>.
            </p>
            {suggestions.length > 0 ? (
              <>
                <p className="muted">Try one of these, drawn from this collection:</p>
                <Suggestions items={suggestions} onPick={onQuery} />
              </>
            ) : (
              <p className="muted">Try other words, or fewer of them.</p>
            )}
          </div>
        )
      )}

      {weakerTotal > 0 && !moreStrong && (
        <details className="weaker" data-testid="weaker" open={search.matches === 0 && weak.length > 0 ? false : undefined}>
          <summary data-testid="weaker-toggle">
            {plural(weakerTotal, "weaker match", "weaker matches")}
            <span className="muted"> — below the relevance cut-off, probably not what you mean</span>
          </summary>
          {weak.length > 0 && (
            <PhotoGrid
              results={weak}
              actions={actions}
              label={`Weaker matches for ${search.query}`}
              testId="weaker-results"
              rankFrom={strong.length + 1}
            />
          )}
          {left > 0 && more(`Show more (${left} left)`)}
        </details>
      )}
    </div>
  );
}
