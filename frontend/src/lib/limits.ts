/**
 * What the server accepts, as the page uses it. The server says so in `GET /api/health` ("limits");
 * an older server that does not, or a health check that failed, leaves the fallbacks below, which match
 * the server's defaults (docs/api.md), so the page never refuses what the server would take.
 */
import type { Health } from "../api";

export interface PageLimits {
  /** Longest query the server searches, in characters. */
  maxQueryLength: number;
  /** Largest upload (one request) in MB, or null when unknown (the server's 413 message then speaks). */
  maxUploadMb: number | null;
  /** Largest single photo in MB, or null when unknown. */
  maxPhotoMb: number | null;
  /** Most addresses in one "Web addresses" list, or null when unknown. */
  maxUrls: number | null;
}

export const DEFAULT_LIMITS: PageLimits = { maxQueryLength: 500, maxUploadMb: null, maxPhotoMb: null, maxUrls: null };

function positive(n: unknown): number | null {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : null;
}

export function limitsFrom(health: Pick<Health, "limits"> | null | undefined): PageLimits {
  const l = health?.limits;
  return {
    maxQueryLength: positive(l?.max_query_length) ?? DEFAULT_LIMITS.maxQueryLength,
    maxUploadMb: positive(l?.max_upload_mb) ?? DEFAULT_LIMITS.maxUploadMb,
    maxPhotoMb: positive(l?.max_photo_mb) ?? DEFAULT_LIMITS.maxPhotoMb,
    maxUrls: positive(l?.max_url_list_entries) ?? DEFAULT_LIMITS.maxUrls,
  };
}

const MB = 1e6; // the server counts decimal megabytes

function mb(n: number): string {
  return `${Number((n / MB).toFixed(n < 10 * MB ? 1 : 0))} MB`;
}

/**
 * Why these files cannot go in one upload, in words, or null when they can: said before sending,
 * rather than after the browser has pushed hundreds of megabytes to a 413.
 */
export function uploadProblem(files: Pick<File, "name" | "size">[], limits: PageLimits): string | null {
  if (limits.maxPhotoMb != null) {
    const big = files.filter((f) => f.size > limits.maxPhotoMb! * MB);
    if (big.length === 1) return `${big[0].name} is ${mb(big[0].size)}; the server takes photos up to ${limits.maxPhotoMb} MB.`;
    if (big.length > 1) return `${big.length} files are over the server's ${limits.maxPhotoMb} MB limit per photo (${big[0].name}, …).`;
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  if (limits.maxUploadMb != null && total > limits.maxUploadMb * MB) {
    return `These files are ${mb(total)} together; the server takes at most ${limits.maxUploadMb} MB per upload. Send them in smaller groups.`;
  }
  return null;
}
