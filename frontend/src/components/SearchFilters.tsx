import { useId } from "react";
import "./SearchFilters.css";
import type { Sort } from "../lib/url";

/** Sort (best match / newest / oldest) and a date range; with no query only the date orders apply. */
export function SearchFilters({
  sort,
  after,
  before,
  browsing,
  onChange,
  onClear,
}: {
  sort: Sort;
  after: string | null;
  before: string | null;
  /** No query: the timeline, which has no "best match". */
  browsing: boolean;
  onChange: (f: { sort?: Sort; after?: string | null; before?: string | null }) => void;
  onClear: () => void;
}) {
  const id = useId();
  const shownSort = browsing && sort === "best" ? "newest" : sort;
  const filtered = sort !== "best" || after != null || before != null;
  return (
    <div className="filters" role="group" aria-label="Sort and filter by date" data-testid="filters">
      <label className="filter" htmlFor={`${id}-sort`}>
        <span>Sort</span>
        <select id={`${id}-sort`} data-testid="filter-sort" value={shownSort} onChange={(e) => onChange({ sort: e.target.value as Sort })}>
          {!browsing && <option value="best">Best match</option>}
          <option value="newest">Newest first</option>
          <option value="oldest">Oldest first</option>
        </select>
      </label>
      <label className="filter" htmlFor={`${id}-after`}>
        <span>From</span>
        <input
          id={`${id}-after`}
          type="date"
          data-testid="filter-after"
          value={after ?? ""}
          max={before ?? undefined}
          onChange={(e) => onChange({ after: e.target.value || null })}
        />
      </label>
      <label className="filter" htmlFor={`${id}-before`}>
        <span>To</span>
        <input
          id={`${id}-before`}
          type="date"
          data-testid="filter-before"
          value={before ?? ""}
          min={after ?? undefined}
          onChange={(e) => onChange({ before: e.target.value || null })}
        />
      </label>
      {filtered && (
        <button type="button" className="link-button" data-testid="filter-clear" onClick={onClear}>
          Clear
        </button>
      )}
    </div>
  );
}
