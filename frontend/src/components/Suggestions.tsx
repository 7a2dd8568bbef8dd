import "./Suggestions.css";

/** Query chips drawn from the collection itself (GET /api/profiles/<p>/suggestions). */
export function Suggestions({ items, onPick }: { items: string[]; onPick: (q: string) => void }) {
  return (
    <div className="suggestions" data-testid="suggestions">
      {items.map((s) => (
        <button key={s} type="button" className="chip chip-button" data-testid="suggestion" onClick={() => onPick(s)}>
          {s}
        </button>
      ))}
    </div>
  );
}
