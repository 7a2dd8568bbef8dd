import type { Job, MatchedIn, PhotoSummary, Reason, SearchResult } from "../api";

/**
 * The sentence to show for a photo: the labels' own ("grounded") when the server judged the captioner's
 * unsure, the caption otherwise; `grounded` tells the card not to highlight caption words in it.
 */
export function shownSentence(p: Pick<PhotoSummary, "caption" | "description">): { text: string | null; grounded: boolean } {
  const d = p.description;
  if (d && d.shown === "grounded" && d.grounded_caption) return { text: d.grounded_caption, grounded: true };
  return { text: d?.caption ?? p.caption, grounded: false };
}

/** "0.71" — scores shown with two decimals. */
export function formatScore(score: number | null | undefined): string {
  return typeof score === "number" && Number.isFinite(score) ? score.toFixed(2) : "–";
}

/** "87%" for a probability in [0, 1]. */
export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return "–";
  const pct = Math.min(Math.max(p, 0), 1) * 100;
  return pct > 0 && pct < 1 ? "<1%" : `${Math.round(pct)}%`;
}

const IN_WORDS: Record<MatchedIn, string> = {
  caption: "in the caption",
  labels: "in the labels",
  poster: "in the poster's text",
};

/**
 * Why a result matched, in words a person reads: the server's own `reasons` when it sends them
 * ("espresso (in labels, 90 %)"), otherwise built from the matched words ("“dog” in the caption") and,
 * when only the meaning matched, "looks like your words". Raw scores are never part of it ({@link rawScores}).
 */
export function plainReasons(r: Pick<SearchResult, "matched" | "matched_in" | "scores" | "reasons">): Reason[] {
  if (r.reasons && r.reasons.length) return r.reasons;
  const out: Reason[] = [];
  if (r.matched.length) {
    const where = r.matched_in.map((m) => IN_WORDS[m] ?? m).join(", ");
    out.push({ text: `${r.matched.map((w) => `“${w}”`).join(", ")}${where ? ` ${where}` : ""}`, kind: "text" });
  } else if (r.matched_in.length) {
    out.push({ text: `your words appear ${r.matched_in.map((m) => IN_WORDS[m] ?? m).join(", ")}`, kind: "text" });
  }
  const { semantic, caption_semantic } = r.scores ?? {};
  if (typeof semantic === "number" || typeof caption_semantic === "number") out.push({ text: "looks like your words", kind: "semantic" });
  return out;
}

/** The numbers behind a result, for the "details" toggle: `score 0.90 · meaning 0.71 · words 2.50`. */
export function rawScores(r: Pick<SearchResult, "score" | "scores">): string {
  const parts = [`score ${formatScore(r.score)}`];
  const { semantic, caption_semantic, text } = r.scores ?? {};
  if (typeof semantic === "number") parts.push(`meaning ${formatScore(semantic)}`);
  if (typeof caption_semantic === "number") parts.push(`caption meaning ${formatScore(caption_semantic)}`);
  const labelMeaning = r.scores?.label_meaning;
  if (typeof labelMeaning === "number") parts.push(`label meaning ${formatScore(labelMeaning)}`);
  if (typeof text === "number") parts.push(`words ${formatScore(text)}`);
  return parts.join(" · ");
}

/** The last path segment of a source (URL, path or `upload:name`), for display. */
export function sourceName(source: string): string {
  let s = source;
  try {
    if (/^[a-z]+:\/\//i.test(s)) s = decodeURIComponent(new URL(s).pathname) || s;
  } catch {
    // keep as is
  }
  const parts = s.split(/[\\/]/).filter(Boolean);
  const last = parts.length ? parts[parts.length - 1] : s;
  return last.replace(/^[a-z]+:(?!\/)/i, "") || source;
}

/** Fraction of a job's photos that are finished (done + failed + skipped), 0..1. */
export function jobFraction(job: Pick<Job, "total" | "done" | "failed" | "skipped" | "status">): number {
  if (job.status === "done" || job.status === "failed") return 1;
  if (!job.total) return 0;
  return Math.min(1, (job.done + job.failed + job.skipped) / job.total);
}

const KIND_WORDS: Record<Job["kind"], string> = {
  urls: "Web addresses",
  folder: "Server folder",
  upload: "Upload",
  instagram: "Instagram export",
  instagram_profile: "Instagram profile",
  redescribe: "Describing again",
};

/** The card's title: the server's ("3 files into Summer in Zürich") or, from older servers, the kind. */
export function jobTitle(job: Pick<Job, "kind" | "id" | "title">): string {
  return job.title?.trim() || `${KIND_WORDS[job.kind] ?? job.kind} #${job.id}`;
}

/**
 * How a job ended, as a person would put it: a "done" job where every photo failed is a failure,
 * one where some failed is "partial". The command line words it the same way (JobStatus.outcome in
 * backend/photosearch/services/jobs.py).
 */
export function jobOutcome(
  job: Pick<Job, "status" | "done" | "failed" | "total">,
): "running" | "done" | "partial" | "failed" | "cancelled" {
  switch (job.status) {
    case "queued":
    case "running":
      return "running";
    case "cancelled":
      return "cancelled";
    case "failed":
      return "failed";
    case "done":
      if (job.failed > 0 && job.done === 0) return "failed";
      return job.failed > 0 ? "partial" : "done";
  }
}

/** "2.4 MB", "820 KB", "512 bytes". */
export function formatBytes(n: number | null | undefined): string {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "";
  if (n < 1000) return `${n} bytes`;
  if (n < 1e6) return `${Math.round(n / 1000)} KB`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hasTime = /T\d{2}:\d{2}/.test(iso) && !/T00:00(:00)?(\.0+)?(Z|[+-]00:?00)?$/.test(iso);
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "long",
    day: "numeric",
    ...(hasTime ? { hour: "2-digit", minute: "2-digit" } : {}),
  });
}

/** "2024-05" for a photo's date (its own calendar month as written, not shifted by time zone), "" if none. */
export function monthKey(iso: string | null | undefined): string {
  const m = /^(\d{4})-(\d{2})/.exec(iso ?? "");
  return m ? `${m[1]}-${m[2]}` : "";
}

export function monthLabel(key: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(key);
  if (!m) return "Undated";
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 15)).toLocaleDateString(undefined, {
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });
}

/** Consecutive photos of the same month, in the order given (the timeline's month headers). */
export function groupByMonth<P extends Pick<PhotoSummary, "taken_at">>(photos: P[]): { key: string; photos: P[] }[] {
  const groups: { key: string; photos: P[] }[] = [];
  for (const p of photos) {
    const key = monthKey(p.taken_at);
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.photos.push(p);
    else groups.push({ key, photos: [p] });
  }
  return groups;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** Split the text box of "paste URLs": one per line, blanks and duplicates dropped. */
export function parseUrlList(text: string): { urls: string[]; invalid: string[] } {
  const urls: string[] = [];
  const invalid: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (/^https?:\/\/\S+$/i.test(line)) {
      if (!urls.includes(line)) urls.push(line);
    } else invalid.push(line);
  }
  return { urls, invalid };
}
