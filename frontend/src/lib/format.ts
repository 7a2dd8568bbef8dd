import type { Job, MatchedIn, SearchResult } from "../api";

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
  caption: "caption",
  labels: "labels",
  poster: "poster's text",
};

/**
 * Why a result matched, e.g. `matched: dog, beach (caption, labels) · semantic 0.71`.
 * Parts with nothing to say are left out; an empty string means nothing is known.
 */
export function describeMatch(r: Pick<SearchResult, "matched" | "matched_in" | "scores">): string {
  const parts: string[] = [];
  if (r.matched.length) {
    const where = r.matched_in.length ? ` (${r.matched_in.map((m) => IN_WORDS[m] ?? m).join(", ")})` : "";
    parts.push(`matched: ${r.matched.join(", ")}${where}`);
  } else if (r.matched_in.length) {
    parts.push(`matched in ${r.matched_in.map((m) => IN_WORDS[m] ?? m).join(", ")}`);
  }
  const { semantic, caption_semantic, text } = r.scores ?? {};
  if (typeof semantic === "number") parts.push(`semantic ${formatScore(semantic)}`);
  if (typeof caption_semantic === "number") parts.push(`caption ${formatScore(caption_semantic)}`);
  if (typeof text === "number" && text > 0 && r.matched.length) parts.push(`text ${formatScore(text)}`);
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

export function jobTitle(job: Pick<Job, "kind" | "id">): string {
  return `${KIND_WORDS[job.kind] ?? job.kind} #${job.id}`;
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
