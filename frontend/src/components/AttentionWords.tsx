import "./AttentionWords.css";
import type { KeyboardEvent } from "react";
import type { Attention } from "../api";

/** Tokens such as `<end>` that the captioner emits but a person need not see as words. */
export function isSpecialToken(word: string): boolean {
  return /^<[^>]+>$/.test(word);
}

/**
 * The caption's words as buttons: hovering previews a word's attention, clicking
 * pins it, and prev/next step through the words.
 */
export function AttentionWords({
  attention,
  pinned,
  preview,
  onPin,
  onPreview,
}: {
  attention: Attention;
  pinned: number | null;
  preview: number | null;
  onPin: (i: number | null) => void;
  onPreview: (i: number | null) => void;
}) {
  const indices = attention.words.map((_, i) => i).filter((i) => !isSpecialToken(attention.words[i]));
  const active = preview ?? pinned;
  const pos = pinned == null ? -1 : indices.indexOf(pinned);

  const step = (delta: number) => {
    if (!indices.length) return;
    const next = pos < 0 ? (delta > 0 ? 0 : indices.length - 1) : (pos + delta + indices.length) % indices.length;
    onPin(indices[next]);
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowRight") {
      e.preventDefault();
      step(1);
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      step(-1);
    } // Escape is left to the photo view: it closes at once
  };

  return (
    <div className="attention" data-testid="attention">
      <div className="attention-head">
        <h3 className="section-title">Where the captioner looked</h3>
        <div className="attention-step" role="group" aria-label="Step through words">
          <button type="button" className="btn btn-small" onClick={() => step(-1)} aria-label="Previous word" data-testid="attention-prev">
            ‹
          </button>
          <button type="button" className="btn btn-small" onClick={() => step(1)} aria-label="Next word" data-testid="attention-next">
            ›
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => onPin(null)}
            disabled={pinned == null}
            data-testid="attention-clear"
          >
            Hide
          </button>
        </div>
      </div>
      <p className="hint">Point at or click a word to see which part of the photo it came from.</p>
      <div className="attention-words" data-testid="attention-words" onKeyDown={onKey} onMouseLeave={() => onPreview(null)}>
        {indices.map((i) => (
          <button
            key={i}
            type="button"
            className={`word${active === i ? " active" : ""}${pinned === i ? " pinned" : ""}`}
            aria-pressed={pinned === i}
            data-testid="attention-word"
            data-index={i}
            onMouseEnter={() => onPreview(i)}
            onFocus={() => onPreview(i)}
            onBlur={() => onPreview(null)}
            onClick={() => onPin(pinned === i ? null : i)}
          >
            {attention.words[i]}
          </button>
        ))}
      </div>
    </div>
  );
}
