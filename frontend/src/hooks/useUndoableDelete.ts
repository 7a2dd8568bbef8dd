import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api";
import { errorText } from "../lib/errors";

/** How long "Undo" stays on screen; well inside the server's undo window (30 s by default). */
export const UNDO_MS = 8000;

export interface PendingUndo {
  ids: number[];
  /** Set when the delete itself failed (the photos are shown again). */
  error: string | null;
}

/**
 * Deletes photos (soft, on the server) and hides them here at once; "Undo" restores them while the
 * notice is up. `hidden` is what the grids leave out.
 */
export function useUndoableDelete(profile: string, onChanged: () => void) {
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [pending, setPending] = useState<PendingUndo | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onChangedRef = useRef(onChanged);
  onChangedRef.current = onChanged;

  useEffect(() => () => clearTimeout(timer.current), []);

  const show = (ids: number[], on: boolean) =>
    setHidden((h) => {
      const next = new Set(h);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });

  const remove = useCallback(
    async (ids: number[]) => {
      if (!ids.length) return;
      clearTimeout(timer.current);
      show(ids, true);
      setPending({ ids, error: null });
      try {
        if (ids.length === 1) await api.deletePhoto(ids[0]);
        else await api.deletePhotos(profile, ids);
        onChangedRef.current();
        timer.current = setTimeout(() => setPending((p) => (p && p.ids === ids ? null : p)), UNDO_MS);
      } catch (err) {
        show(ids, false);
        setPending({ ids, error: `Could not delete: ${errorText(err)}` });
      }
    },
    [profile],
  );

  const undo = useCallback(async () => {
    const p = pending;
    if (!p || p.error) return;
    clearTimeout(timer.current);
    try {
      if (p.ids.length === 1) await api.restorePhoto(p.ids[0]);
      else await api.restorePhotos(profile, p.ids);
      show(p.ids, false);
      setPending(null);
      onChangedRef.current();
    } catch (err) {
      setPending({ ids: p.ids, error: `Could not undo: ${errorText(err)}` });
    }
  }, [pending, profile]);

  const dismiss = useCallback(() => {
    clearTimeout(timer.current);
    setPending(null);
  }, []);

  return { hidden, pending, remove, undo, dismiss };
}
