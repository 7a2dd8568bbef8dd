import "./AttentionHeatmap.css";
import { useEffect, useRef } from "react";
import { heatmapPixels } from "../lib/heatmap";

/** Canvas resolution of the overlay; CSS stretches it over the photo (smoothly). */
const BASE = 160;

/**
 * A smooth, semi-transparent heatmap of one attention map, sized by CSS to
 * cover its positioned parent (the photo's frame).
 */
export function AttentionHeatmap({
  map,
  grid,
  aspect,
  visible,
}: {
  map: number[] | null;
  grid: [number, number];
  /** width / height of the photo, so the canvas pixels are square-ish. */
  aspect: number;
  visible: boolean;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const w = aspect >= 1 ? BASE : Math.max(16, Math.round(BASE * aspect));
  const h = aspect >= 1 ? Math.max(16, Math.round(BASE / aspect)) : BASE;

  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !map) return;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    try {
      // the contract says row-major and flat; accept a nested rows×cols list too
      const flat = (map as unknown[]).flat(2) as number[];
      const px = heatmapPixels(flat, grid, w, h);
      const img = ctx.createImageData(w, h);
      img.data.set(px);
      ctx.putImageData(img, 0, 0);
    } catch {
      ctx.clearRect(0, 0, w, h);
    }
  }, [map, grid, w, h]);

  return (
    <canvas
      ref={ref}
      width={w}
      height={h}
      className={visible && map ? "heatmap visible" : "heatmap"}
      data-testid="heatmap-canvas"
      data-visible={visible && map ? "true" : "false"}
      aria-hidden="true"
    />
  );
}
