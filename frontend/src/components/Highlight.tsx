import type { HighlightSegment } from "../api";

/**
 * The caption with the words that matched the query marked. Segments are
 * rendered as text nodes (React escapes them), never as HTML.
 */
export function Highlight({
  segments,
  fallback,
  className,
}: {
  segments: HighlightSegment[] | null | undefined;
  fallback: string | null | undefined;
  className?: string;
}) {
  if (segments && segments.length > 0) {
    return (
      <span className={className}>
        {segments.map((s, i) =>
          s.match ? (
            <mark key={i} className="hl">
              {s.text}
            </mark>
          ) : (
            <span key={i}>{s.text}</span>
          ),
        )}
      </span>
    );
  }
  return <span className={className}>{fallback ?? ""}</span>;
}
