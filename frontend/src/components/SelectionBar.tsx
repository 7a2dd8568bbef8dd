import "./SelectionBar.css";
import { plural } from "../lib/format";

/** Shown while photos are selected: how many, delete them, or let go. */
export function SelectionBar({
  count,
  onDelete,
  onClear,
  onSelectAll,
}: {
  count: number;
  onDelete: () => void;
  onClear: () => void;
  onSelectAll?: () => void;
}) {
  return (
    <div className="selection-bar" role="toolbar" aria-label="Selected photos" data-testid="selection-bar">
      <button type="button" className="btn-icon" aria-label="Clear selection" data-testid="selection-clear" onClick={onClear}>
        ×
      </button>
      <strong data-testid="selection-count">{plural(count, "photo")} selected</strong>
      <span className="selection-hint muted small">Shift-click or Shift+arrows to add more · Esc to clear</span>
      {onSelectAll && (
        <button type="button" className="btn btn-small" onClick={onSelectAll}>
          Select all shown
        </button>
      )}
      <button type="button" className="btn btn-small btn-danger" data-testid="selection-delete" onClick={onDelete}>
        Delete
      </button>
    </div>
  );
}
