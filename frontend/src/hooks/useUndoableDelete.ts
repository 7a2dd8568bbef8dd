import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api";
import { errorText } from "../lib/errors";

/** How long "Undo" stays on screen; well inside the server's undo window (30 s by default). */
export const UNDO_MS = 8000;

export interface PendingUndo {
  ids: number[];
  /** True once the server has the delete; until then the notice says "Deleting…". */
  landed: boolean;
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
  // The delete request in flight: Undo waits for it, or its late arrival would delete what Undo restored.
  const inFlight = useRef<Promise<boolean> | null>(null);
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
      setPending({ ids, landed: false, error: null });
      const request = (async () => {
        try {
          if (ids.length === 1) await api.deletePhoto(ids[0]);
          else await api.deletePhotos(profile, ids);
          return true;
        } catch (err) {
          show(ids, false);
          setPending({ ids, landed: false, error: `Could not delete: ${errorText(err)}` });
          return false;
        }
      })();
      inFlight.current = request;
      if (!(await request)) return;
      onChangedRef.current();
      setPending((p) => (p && p.ids === ids && !p.error ? { ...p, landed: true } : p));
      timer.current = setTimeout(() => setPending((p) => (p && p.ids === ids ? null : p)), UNDO_MS);
    },
    [profile],
  );

  const undo = useCallback(async () => {
    const p = pending;
    if (!p || p.error) return;
    clearTimeout(timer.current);
    // Undo pressed before the delete landed: restore after it, so the restore is the last word.
    if (!p.landed && inFlight.current && !(await inFlight.current)) return;
    try {
      if (p.ids.length === 1) await api.restorePhoto(p.ids[0]);
      else await api.restorePhotos(profile, p.ids);
      show(p.ids, false);
      setPending(null);
      onChangedRef.current();
    } catch (err) {
      setPending({ ids: p.ids, landed: true, error: `Could not undo: ${errorText(err)}` });
    }
  }, [pending, profile]);

  const dismiss = useCallback(() => {
    clearTimeout(timer.current);
    setPending(null);
  }, []);

  return { hidden, pending, remove, undo, dismiss };
}
