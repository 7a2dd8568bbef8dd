import "./UndoToast.css";
import type { PendingUndo } from "../hooks/useUndoableDelete";
import { plural } from "../lib/format";

/** "Deleting 3 photos…", then "Deleted 3 photos · Undo", bottom of the screen, for a few seconds after a delete. */
export function UndoToast({ pending, onUndo, onDismiss }: { pending: PendingUndo; onUndo: () => void; onDismiss: () => void }) {
  const photos = plural(pending.ids.length, "photo");
  return (
    <div
      className={pending.error ? "toast toast-error" : "toast"}
      role="status"
      aria-live="polite"
      data-testid="undo-toast"
      data-landed={pending.landed}
    >
      <span>{pending.error ?? (pending.landed ? `Deleted ${photos}` : `Deleting ${photos}…`)}</span>
      {!pending.error && (
        <button type="button" className="btn btn-small" data-testid="undo" onClick={onUndo}>
          Undo
        </button>
      )}
      <button type="button" className="btn-icon" aria-label="Close" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
