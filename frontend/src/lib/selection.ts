/**
 * Multi-selection and keyboard movement in a photo grid, as pure functions of ids and boxes, so the
 * rules (shift-click selects a range from the last photo clicked; Up goes to the nearest photo in the
 * row above, whatever the month headers in between) are tested without a browser.
 */

export interface Selection {
  ids: ReadonlySet<number>;
  /** The photo a shift-click range starts from: the last one toggled. */
  anchor: number | null;
}

export const NO_SELECTION: Selection = { ids: new Set(), anchor: null };

export function toggleOne(sel: Selection, id: number): Selection {
  const ids = new Set(sel.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: id };
}

/**
 * Shift-click: every photo between the anchor and `id` (in the order shown) joins the selection.
 * With no anchor (or one no longer shown) it is a plain toggle.
 */
export function selectRange(sel: Selection, order: readonly number[], id: number): Selection {
  const from = sel.anchor == null ? -1 : order.indexOf(sel.anchor);
  const to = order.indexOf(id);
  if (from < 0 || to < 0) return toggleOne(sel, id);
  const ids = new Set(sel.ids);
  const [a, b] = from <= to ? [from, to] : [to, from];
  for (let i = a; i <= b; i++) ids.add(order[i]);
  return { ids, anchor: id };
}

/** Drop ids that are no longer shown (deleted, or a new search). */
export function keepShown(sel: Selection, shown: readonly number[]): Selection {
  const visible = new Set(shown);
  const ids = new Set([...sel.ids].filter((id) => visible.has(id)));
  if (ids.size === sel.ids.size && (sel.anchor == null || visible.has(sel.anchor))) return sel;
  return { ids, anchor: sel.anchor != null && visible.has(sel.anchor) ? sel.anchor : null };
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type ArrowKey = "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown";

export function isArrowKey(key: string): key is ArrowKey {
  return key === "ArrowLeft" || key === "ArrowRight" || key === "ArrowUp" || key === "ArrowDown";
}

/**
 * Where an arrow key moves from `boxes[from]` (boxes in reading order): Left/Right step through the
 * order, Up/Down go to the nearest row above/below and, in it, the photo closest horizontally.
 * Returns `from` at an edge.
 */
export function neighbourIndex(boxes: readonly Box[], from: number, key: ArrowKey): number {
  if (from < 0 || from >= boxes.length) return boxes.length ? 0 : -1;
  if (key === "ArrowLeft") return Math.max(0, from - 1);
  if (key === "ArrowRight") return Math.min(boxes.length - 1, from + 1);
  const here = boxes[from];
  const cy = here.top + here.height / 2;
  const cx = here.left + here.width / 2;
  const down = key === "ArrowDown";
  let rowY: number | null = null;
  for (const b of boxes) {
    const y = b.top + b.height / 2;
    const beyond = down ? y > cy + here.height / 2 : y < cy - here.height / 2;
    if (beyond && (rowY == null || (down ? y < rowY : y > rowY))) rowY = y;
  }
  if (rowY == null) return from;
  let best = from;
  let bestDx = Infinity;
  boxes.forEach((b, i) => {
    const y = b.top + b.height / 2;
    if (Math.abs(y - rowY!) > b.height / 2) return;
    const dx = Math.abs(b.left + b.width / 2 - cx);
    if (dx < bestDx) {
      bestDx = dx;
      best = i;
    }
  });
  return best;
}
