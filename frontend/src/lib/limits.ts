/**
 * What the server accepts, as the page uses it. The server says so in `GET /api/health` ("limits");
 * an older server that does not, or a health check that failed, leaves the fallbacks below, which match
 * the server's defaults (docs/api.md), so the page never refuses what the server would take.
 */
import type { Health } from "../api";

export interface PageLimits {
  /** Longest query the server searches, in characters. */
  maxQueryLength: number;
  /** Largest upload in MB, or null when unknown (the server's 413 message then speaks). */
  maxUploadMb: number | null;
}

export const DEFAULT_LIMITS: PageLimits = { maxQueryLength: 500, maxUploadMb: null };

function positive(n: unknown): number | null {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : null;
}

export function limitsFrom(health: Pick<Health, "limits"> | null | undefined): PageLimits {
  const l = health?.limits;
  return {
    maxQueryLength: positive(l?.max_query_length) ?? DEFAULT_LIMITS.maxQueryLength,
    maxUploadMb: positive(l?.max_upload_mb) ?? DEFAULT_LIMITS.maxUploadMb,
  };
}
