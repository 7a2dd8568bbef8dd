import { useEffect, useRef } from "react";
import "./Timeline.css";
import type { PhotoSummary } from "../api";
import { groupByMonth, monthLabel, plural } from "../lib/format";
import type { CardActions } from "./PhotoCard";
import { PhotoGrid } from "./PhotoGrid";
import { Spinner } from "./Spinner";

/**
 * The collection by date, month by month (newest first unless asked otherwise). When the sentinel
 * under the last photo comes near the viewport the next page loads: infinite scroll.
 */
export function Timeline({
  photos,
  total,
  hasMore,
  loading,
  onMore,
  actions,
}: {
  photos: PhotoSummary[];
  total: number;
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  actions: CardActions;
}) {
  const sentinel = useRef<HTMLDivElement>(null);
  const onMoreRef = useRef(onMore);
  onMoreRef.current = onMore;

  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasMore || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onMoreRef.current(), {
      rootMargin: "600px 0px",
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasMore, photos.length]);

  return (
    <section className="timeline" data-testid="timeline" aria-label={`All ${plural(total, "photo")} by date`}>
      {groupByMonth(photos).map((g) => (
        <section key={`${g.key}-${g.photos[0].id}`} className="month" aria-labelledby={`month-${g.key}-${g.photos[0].id}`}>
          <h2 className="month-title" id={`month-${g.key}-${g.photos[0].id}`} data-testid="month-header">
            {monthLabel(g.key)}
          </h2>
          <PhotoGrid photos={g.photos} actions={actions} compact label={`Photos from ${monthLabel(g.key)}`} testId="timeline-grid" />
        </section>
      ))}
      <div ref={sentinel} className="timeline-end" data-testid="timeline-end">
        {loading && <Spinner inline label="Loading more photos…" />}
        {hasMore && !loading && (
          <button type="button" className="btn" onClick={onMore}>
            Show more
          </button>
        )}
      </div>
    </section>
  );
}
