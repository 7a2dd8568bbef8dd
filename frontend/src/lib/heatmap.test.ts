import { describe, expect, it } from "vitest";
import { HEAT_STOPS, heatColor, heatmapPixels, normalize, peakCell, upsampleBilinear } from "./heatmap";

const uniform = Array(49).fill(1 / 49);

describe("normalize", () => {
  it("scales the largest value to 1", () => {
    expect(normalize([0.1, 0.2, 0.4])).toEqual([0.25, 0.5, 1]);
  });
  it("leaves an all-zero map at zero and cleans bad values", () => {
    expect(normalize([0, 0])).toEqual([0, 0]);
    expect(normalize([Number.NaN, -1, 2])).toEqual([0, 0, 1]);
  });
});

describe("upsampleBilinear", () => {
  it("keeps a constant map constant", () => {
    const out = upsampleBilinear(uniform, 7, 7, 30, 20);
    expect(out).toHaveLength(600);
    for (const v of out) expect(v).toBeCloseTo(1 / 49, 6);
  });

  it("reproduces the cells when sizes match", () => {
    const map = Array.from({ length: 49 }, (_, i) => i);
    expect(Array.from(upsampleBilinear(map, 7, 7, 7, 7))).toEqual(map);
  });

  it("interpolates smoothly between two cells", () => {
    // 1 row × 2 columns: 0 then 1, upsampled to 4 pixels sampled at cell centres
    const out = Array.from(upsampleBilinear([0, 1], 1, 2, 4, 1));
    expect(out).toEqual([0, 0.25, 0.75, 1]);
    // monotonic, no jumps
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThanOrEqual(out[i - 1]);
  });

  it("puts a single hot cell's peak where the cell is", () => {
    const map = Array(49).fill(0);
    map[2 * 7 + 5] = 1; // row 2, column 5
    const w = 70;
    const out = upsampleBilinear(map, 7, 7, w, w);
    let best = 0;
    out.forEach((v, i) => {
      if (v > out[best]) best = i;
    });
    const [y, x] = [Math.floor(best / w), best % w];
    expect(Math.floor(y / 10)).toBe(2);
    expect(Math.floor(x / 10)).toBe(5);
  });

  it("rejects a map of the wrong size", () => {
    expect(() => upsampleBilinear([1, 2, 3], 7, 7, 10, 10)).toThrow(/expected 7×7/);
  });
});

describe("heatColor", () => {
  it("is transparent at zero and strongest at one", () => {
    expect(heatColor(0)[3]).toBe(0);
    expect(heatColor(1)).toEqual([...HEAT_STOPS[HEAT_STOPS.length - 1][1]]);
  });
  it("clamps out-of-range and bad values", () => {
    expect(heatColor(-5)).toEqual(heatColor(0));
    expect(heatColor(7)).toEqual(heatColor(1));
    expect(heatColor(Number.NaN)).toEqual(heatColor(0));
  });
  it("grows more opaque and warmer as attention rises", () => {
    let prev = heatColor(0);
    for (let v = 0.05; v <= 1.0001; v += 0.05) {
      const c = heatColor(v);
      expect(c[3]).toBeGreaterThanOrEqual(prev[3]);
      prev = c;
    }
    expect(heatColor(0.9)[0]).toBeGreaterThan(heatColor(0.3)[0]); // red rises
  });
  it("hits the stops exactly", () => {
    for (const [v, rgba] of HEAT_STOPS) expect(heatColor(v)).toEqual([...rgba]);
  });
});

describe("heatmapPixels", () => {
  it("gives RGBA pixels with the hot cell opaque and cold ones clear", () => {
    const map = Array(49).fill(0);
    map[0] = 1;
    const px = heatmapPixels(map, [7, 7], 14, 14);
    expect(px).toHaveLength(14 * 14 * 4);
    expect(px[3]).toBeGreaterThan(150); // top-left pixel: alpha high
    expect(px[px.length - 1]).toBe(0); // bottom-right: transparent
  });
});

describe("peakCell", () => {
  it("finds the row and column of the largest value", () => {
    const map = Array(49).fill(0.01);
    map[3 * 7 + 1] = 0.5;
    expect(peakCell(map, 7)).toEqual([3, 1]);
    expect(peakCell(Array(49).fill(0), 7)).toBeNull();
  });
});
