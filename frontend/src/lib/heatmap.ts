/**
 * Pure helpers for the per-word attention heatmap: a 7×7 (or any rows×cols)
 * row-major attention map is normalised, upsampled with bilinear interpolation
 * and coloured into RGBA pixels that a canvas overlays on the photo.
 */

export type RGBA = [number, number, number, number];

/** Scale a map so its largest value is 1 (all zeros stay zeros; NaN/negatives become 0). */
export function normalize(map: readonly number[]): number[] {
  const clean = map.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = clean.reduce((m, v) => (v > m ? v : m), 0);
  return max > 0 ? clean.map((v) => v / max) : clean;
}

/**
 * Bilinear upsampling of a rows×cols row-major grid to outW×outH, sampling at
 * cell centres (like `align_corners=False`), clamped at the borders.
 */
export function upsampleBilinear(
  map: readonly number[],
  rows: number,
  cols: number,
  outW: number,
  outH: number,
): Float32Array {
  if (map.length !== rows * cols) {
    throw new Error(`attention map has ${map.length} values, expected ${rows}×${cols}`);
  }
  const out = new Float32Array(outW * outH);
  const at = (r: number, c: number) => map[r * cols + c];
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * rows) / outH - 0.5, 0), rows - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, rows - 1);
    const fy = sy - y0;
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * cols) / outW - 0.5, 0), cols - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, cols - 1);
      const fx = sx - x0;
      const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
      const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Colour ramp stops: value → RGBA. Low attention is transparent so the photo shows through. */
export const HEAT_STOPS: ReadonlyArray<readonly [number, RGBA]> = [
  [0.0, [0, 0, 140, 0]],
  [0.2, [0, 70, 255, 60]],
  [0.45, [0, 215, 210, 120]],
  [0.7, [255, 225, 0, 165]],
  [1.0, [255, 35, 0, 205]],
];

/** Map a value in [0, 1] (clamped) to an RGBA colour by linear interpolation between {@link HEAT_STOPS}. */
export function heatColor(value: number): RGBA {
  const v = Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
  for (let i = 1; i < HEAT_STOPS.length; i++) {
    const [hi, cHi] = HEAT_STOPS[i];
    if (v <= hi) {
      const [lo, cLo] = HEAT_STOPS[i - 1];
      const t = hi === lo ? 0 : (v - lo) / (hi - lo);
      return cLo.map((c, k) => Math.round(c + (cHi[k] - c) * t)) as RGBA;
    }
  }
  return [...HEAT_STOPS[HEAT_STOPS.length - 1][1]] as RGBA;
}

/** RGBA pixels (ImageData layout) for one attention map at outW×outH. */
export function heatmapPixels(
  map: readonly number[],
  grid: readonly [number, number],
  outW: number,
  outH: number,
): Uint8ClampedArray {
  const [rows, cols] = grid;
  const values = upsampleBilinear(normalize(map), rows, cols, outW, outH);
  const px = new Uint8ClampedArray(outW * outH * 4);
  for (let i = 0; i < values.length; i++) {
    const [r, g, b, a] = heatColor(values[i]);
    px[i * 4] = r;
    px[i * 4 + 1] = g;
    px[i * 4 + 2] = b;
    px[i * 4 + 3] = a;
  }
  return px;
}

/** Index of the grid cell with the most attention (row, col), or null for an all-zero map. */
export function peakCell(map: readonly number[], cols: number): [number, number] | null {
  let best = -1;
  let bestV = 0;
  map.forEach((v, i) => {
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  });
  return best < 0 ? null : [Math.floor(best / cols), best % cols];
}
