import { describe, expect, it } from "vitest";
import { keepShown, neighbourIndex, NO_SELECTION, selectRange, toggleOne, type Box } from "./selection";

describe("selection", () => {
  it("toggles one photo and remembers it as the anchor", () => {
    const a = toggleOne(NO_SELECTION, 5);
    expect([...a.ids]).toEqual([5]);
    expect(a.anchor).toBe(5);
    expect(toggleOne(a, 5).ids.size).toBe(0);
  });

  it("shift-click selects the range from the anchor, in either direction", () => {
    const order = [10, 11, 12, 13, 14];
    const a = toggleOne(NO_SELECTION, 11);
    expect([...selectRange(a, order, 13).ids].sort()).toEqual([11, 12, 13]);
    expect([...selectRange(toggleOne(NO_SELECTION, 14), order, 12).ids].sort()).toEqual([12, 13, 14]);
    expect([...selectRange(NO_SELECTION, order, 12).ids]).toEqual([12]);
  });

  it("forgets photos that are no longer shown", () => {
    const sel = selectRange(toggleOne(NO_SELECTION, 1), [1, 2, 3], 3);
    const kept = keepShown(sel, [1, 2]);
    expect([...kept.ids].sort()).toEqual([1, 2]);
    expect(kept.anchor).toBeNull();
    expect(keepShown(kept, [1, 2])).toBe(kept);
  });
});

describe("neighbourIndex", () => {
  // two rows of three 100x100 cards, then a month header, then a row of two
  const box = (col: number, top: number): Box => ({ left: col * 110, top, width: 100, height: 100 });
  const boxes = [box(0, 0), box(1, 0), box(2, 0), box(0, 110), box(1, 110), box(2, 110), box(0, 260), box(1, 260)];

  it("steps left and right in reading order, stopping at the ends", () => {
    expect(neighbourIndex(boxes, 2, "ArrowRight")).toBe(3);
    expect(neighbourIndex(boxes, 0, "ArrowLeft")).toBe(0);
    expect(neighbourIndex(boxes, 7, "ArrowRight")).toBe(7);
  });

  it("moves to the nearest photo in the row above or below, across a header", () => {
    expect(neighbourIndex(boxes, 1, "ArrowDown")).toBe(4);
    expect(neighbourIndex(boxes, 4, "ArrowUp")).toBe(1);
    expect(neighbourIndex(boxes, 5, "ArrowDown")).toBe(7);
    expect(neighbourIndex(boxes, 6, "ArrowUp")).toBe(3);
    expect(neighbourIndex(boxes, 0, "ArrowUp")).toBe(0);
    expect(neighbourIndex(boxes, 7, "ArrowDown")).toBe(7);
  });
});
