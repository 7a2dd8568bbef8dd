/**
 * The one typed client for the photosearch JSON API (docs/api.md).
 *
 * Every failure becomes an {@link ApiError} whose `message` is the server's own
 * `error` text when the server sent one, so the UI can show it as is.
 */

// ---------------------------------------------------------------- types

export interface Profile {
  /** URL-safe id used in addresses and API paths. */
  name: string;
  /** What the person typed, spaces and accents kept (older servers: absent, show `name`). */
  display_name?: string;
  photo_count: number;
  created_at: string;
}

/** A collection's photos that older models described: "Describe again" gives them today's descriptions. */
export interface OutdatedPhotos {
  profile: string;
  photos: number | null; // null: the server cannot tell which models describe photos today
  caption_model: string | null;
}

export type JobKind = "urls" | "folder" | "upload" | "instagram" | "instagram_profile" | "redescribe";
export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface JobFailure {
  source: string;
  error: string;
}

export interface Job {
  id: number;
  profile: string;
  kind: JobKind;
  /** "Uploading 3 files to Summer", from the job's source (newer servers). */
  title?: string;
  status: JobStatus;
  total: number;
  done: number;
  failed: number;
  /** Items left out on purpose (not a photo, say). */
  skipped: number;
  /** Of `done`, photos whose bytes were already in the collection, not added again (newer servers). */
  already?: number;
  error: string | null;
  failures: JobFailure[];
  created_at: string;
  finished_at: string | null;
}

export interface Label {
  label: string;
  score: number;
}

/** One plain-words reason why a photo matched, e.g. "espresso (in labels, 90 %)". */
export interface Reason {
  text: string;
  kind: "label" | "caption" | "text" | "semantic" | string;
}

export interface PhotoSummary {
  id: number;
  profile: string;
  source: string;
  thumbnail_url: string;
  image_url: string;
  caption: string | null;
  labels: Label[];
  poster_caption: string | null;
  /** EXIF capture date (or the post's date), else the date it was added (ISO 8601); `date_source` says which. */
  taken_at: string | null;
  date_source?: "taken" | "added";
  width: number;
  height: number;
  reasons?: Reason[];
  /** The captioner's sentence, the labels' own, and which of them to show (newer servers). */
  description?: Description | null;
}

/** Which sentence the photo view shows: the captioner's own, or one built from confident labels. */
export interface Description {
  caption: string | null;
  caption_confidence: number | null;
  grounded_caption: string | null;
  shown: "caption" | "grounded";
}

export interface Alternative {
  text: string;
  score: number;
}

export interface Attention {
  grid: [number, number];
  words: string[];
  /** maps[i] is row-major attention over the grid while the captioner wrote words[i]. */
  maps: number[][];
}

export interface PhotoDetail extends PhotoSummary {
  alternatives: Alternative[];
  attention: Attention | null;
  hashtags: string[];
  model: string | null;
  /** Older servers only (always "described" / null there). */
  status?: string;
  error?: string | null;
  camera?: string | null;
  has_gps?: boolean;
  bytes?: number | null;
}

export interface HighlightSegment {
  text: string;
  match: boolean;
}

export type MatchedIn = "caption" | "labels" | "poster";

export interface SearchScores {
  text: number | null;
  semantic: number | null;
  caption_semantic: number | null;
  /** The query's meaning against the labels' plain nouns and categories (newer servers). */
  label_meaning?: number | null;
}

export interface SearchResult {
  photo: PhotoSummary;
  score: number;
  scores: SearchScores;
  matched: string[];
  matched_in: MatchedIn[];
  highlight: HighlightSegment[];
  /** Above the collection's relevance cut-off (older servers: absent, everything counts). */
  strong?: boolean;
  reasons?: Reason[];
}

export type SortOrder = "best" | "newest" | "oldest";

export interface SearchResponse {
  query: string;
  total: number;
  results: SearchResult[];
  /** How many results pass the cut-off; the rest are "weaker matches". */
  matches?: number;
  cutoff?: number;
  did_you_mean?: string | null;
  /** What was searched: the query or its correction; null when nothing could be. */
  searched_for?: string | null;
  /** e.g. "No usable English words in “猫”": nothing was searched. */
  notice?: string | null;
}

export interface TimelinePage {
  photos: PhotoSummary[];
  next_cursor: string | null;
  total: number;
}

export interface SimilarResult {
  photo: PhotoSummary;
  score: number;
}

/** What the server accepts; read once from /api/health (see lib/limits.ts for the fallbacks). */
export interface Limits {
  max_query_length?: number;
  max_upload_mb?: number;
  [name: string]: number | undefined;
}

export interface Health {
  ok: boolean;
  version: string;
  captioner: boolean;
  limits?: Limits;
}

// ---------------------------------------------------------------- errors

export class ApiError extends Error {
  /** HTTP status, or 0 when the server could not be reached. */
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof DOMException && err.name === "AbortError") ||
    (err instanceof Error && err.name === "AbortError")
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "The request was not accepted",
  401: "This server needs an access token for changes",
  403: "This server needs an access token for changes",
  404: "Not found",
  409: "That already exists",
  413: "That upload is too large for the server",
  500: "The server ran into a problem",
  502: "The server is not reachable",
  503: "The server is busy, try again shortly",
  504: "The server took too long to answer",
};

/** Turn a failed response's body into the message a person should read. */
export function errorMessageFrom(status: number, body: string): string {
  if (body) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === "object" && "error" in parsed) {
        const msg = (parsed as { error: unknown }).error;
        if (typeof msg === "string" && msg.trim()) return msg;
      }
    } catch {
      // not JSON (a proxy's HTML page, say): fall through to a generic message
    }
  }
  return STATUS_TEXT[status] ?? `Request failed (HTTP ${status})`;
}

// ---------------------------------------------------------------- token

const TOKEN_KEY = "photosearch.token";

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(TOKEN_KEY) ?? null;
}

export function setToken(token: string | null): void {
  const s = storage();
  if (!s) return;
  if (token) s.setItem(TOKEN_KEY, token);
  else s.removeItem(TOKEN_KEY);
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Hear about every 401/403 (the server wants an access token); returns the unsubscribe function. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

function failure(status: number, body: string): ApiError {
  const err = new ApiError(errorMessageFrom(status, body), status);
  if (err.unauthorized) unauthorizedListeners.forEach((l) => l());
  return err;
}

// ---------------------------------------------------------------- transport

let apiBase = "/api";

/** For tests and embedding: where the API lives (default `/api`). */
export function setApiBase(base: string): void {
  apiBase = base.replace(/\/+$/, "");
}

interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  json?: unknown;
  form?: FormData;
  signal?: AbortSignal;
}

function headersFor(method: string, json: boolean): Record<string, string> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (json) headers["Content-Type"] = "application/json";
  const token = method === "GET" ? null : getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  let response: Response;
  try {
    response = await fetch(apiBase + path, {
      method,
      headers: headersFor(method, opts.json !== undefined),
      body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.form,
      signal: opts.signal,
    });
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw new ApiError("Could not reach the photosearch server. Is it running?", 0);
  }
  const text = await response.text();
  if (!response.ok) throw failure(response.status, text);
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError("The server sent an answer this page could not read", response.status);
  }
}

/** Progress of an upload, 0..1 (null when the browser cannot tell). */
export type UploadProgress = (fraction: number | null) => void;

/**
 * Multipart POST with upload progress. Uses XMLHttpRequest where the browser has
 * it (fetch cannot report upload progress), fetch otherwise.
 */
function upload<T>(path: string, form: FormData, onProgress?: UploadProgress, signal?: AbortSignal): Promise<T> {
  if (typeof XMLHttpRequest === "undefined" || !onProgress) {
    return request<T>(path, { method: "POST", form, signal });
  }
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", apiBase + path);
    for (const [k, v] of Object.entries(headersFor("POST", false))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.lengthComputable ? e.loaded / e.total : null);
    xhr.onload = () => {
      const text = xhr.responseText ?? "";
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(failure(xhr.status, text));
        return;
      }
      try {
        resolve(JSON.parse(text) as T);
      } catch {
        reject(new ApiError("The server sent an answer this page could not read", xhr.status));
      }
    };
    xhr.onerror = () => reject(new ApiError("The upload could not reach the server", 0));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------- endpoints

export const api = {
  health: (signal?: AbortSignal) => request<Health>("/health", { signal }),

  // profiles
  listProfiles: async (signal?: AbortSignal): Promise<Profile[]> =>
    (await request<{ profiles: Profile[] }>("/profiles", { signal })).profiles,
  getProfile: (name: string, signal?: AbortSignal) => request<Profile>(`/profiles/${enc(name)}`, { signal }),
  createProfile: (name: string) => request<Profile>("/profiles", { method: "POST", json: { name } }),
  /** Change the name people read; the URL-safe `name` (and every link) stays. */
  renameProfile: (name: string, displayName: string) =>
    request<Profile>(`/profiles/${enc(name)}`, { method: "PATCH", json: { display_name: displayName } }),
  deleteProfile: (name: string) => request<void>(`/profiles/${enc(name)}`, { method: "DELETE" }),

  // sources → jobs
  addUrls: (profile: string, urls: string[]) =>
    request<Job>(`/profiles/${enc(profile)}/sources`, { method: "POST", json: { urls } }),
  addFolder: (profile: string, folder: string) =>
    request<Job>(`/profiles/${enc(profile)}/sources`, { method: "POST", json: { folder } }),
  uploadFiles: (profile: string, files: File[], onProgress?: UploadProgress, signal?: AbortSignal) => {
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    return upload<Job>(`/profiles/${enc(profile)}/uploads`, form, onProgress, signal);
  },
  uploadInstagramExport: (profile: string, zip: File, onProgress?: UploadProgress, signal?: AbortSignal) => {
    const form = new FormData();
    form.append("file", zip, zip.name);
    return upload<Job>(`/profiles/${enc(profile)}/instagram-export`, form, onProgress, signal);
  },
  getJob: (id: number, signal?: AbortSignal) => request<Job>(`/jobs/${id}`, { signal }),
  listJobs: async (profile: string, signal?: AbortSignal): Promise<Job[]> =>
    (await request<{ jobs: Job[] }>(`/profiles/${enc(profile)}/jobs`, { signal })).jobs,
  cancelJob: (id: number) => request<Job>(`/jobs/${id}/cancel`, { method: "POST" }),
  /** Describe every photo of the collection again with the current models (a job). */
  redescribe: (profile: string) => request<Job>(`/profiles/${enc(profile)}/redescribe`, { method: "POST" }),
  outdated: (profile: string, signal?: AbortSignal) =>
    request<OutdatedPhotos>(`/profiles/${enc(profile)}/outdated`, { signal }),

  // search
  search: (
    params: {
      profile: string;
      q: string;
      limit?: number;
      offset?: number;
      sort?: SortOrder;
      after?: string | null;
      before?: string | null;
    },
    signal?: AbortSignal,
  ): Promise<SearchResponse> => {
    const qs = new URLSearchParams({
      profile: params.profile,
      q: params.q,
      limit: String(params.limit ?? 20),
      offset: String(params.offset ?? 0),
    });
    if (params.sort && params.sort !== "best") qs.set("sort", params.sort);
    if (params.after) qs.set("after", params.after);
    if (params.before) qs.set("before", params.before);
    return request<SearchResponse>(`/search?${qs}`, { signal });
  },

  // browse
  timeline: (
    params: { profile: string; sort?: "newest" | "oldest"; limit?: number; cursor?: string | null },
    signal?: AbortSignal,
  ): Promise<TimelinePage> => {
    const qs = new URLSearchParams({ sort: params.sort ?? "newest", limit: String(params.limit ?? 60) });
    if (params.cursor) qs.set("cursor", params.cursor);
    return request<TimelinePage>(`/profiles/${enc(params.profile)}/photos?${qs}`, { signal });
  },
  suggestions: async (profile: string, signal?: AbortSignal): Promise<string[]> =>
    (await request<{ suggestions: string[] }>(`/profiles/${enc(profile)}/suggestions`, { signal })).suggestions,

  // photos
  getPhoto: (id: number, signal?: AbortSignal) => request<PhotoDetail>(`/photos/${id}`, { signal }),
  /** Soft delete: hidden at once, purged after the server's undo window. */
  deletePhoto: (id: number) => request<unknown>(`/photos/${id}`, { method: "DELETE" }),
  restorePhoto: (id: number) => request<unknown>(`/photos/${id}/restore`, { method: "POST" }),
  deletePhotos: (profile: string, ids: number[]) =>
    request<unknown>(`/profiles/${enc(profile)}/photos/delete`, { method: "POST", json: { ids } }),
  restorePhotos: (profile: string, ids: number[]) =>
    request<unknown>(`/profiles/${enc(profile)}/photos/restore`, { method: "POST", json: { ids } }),
  similar: async (id: number, limit = 12, signal?: AbortSignal): Promise<SimilarResult[]> =>
    (await request<{ results: SimilarResult[] }>(`/photos/${id}/similar?limit=${limit}`, { signal })).results,
};

export type Api = typeof api;

export function isJobFinished(job: Pick<Job, "status">): boolean {
  return job.status === "done" || job.status === "failed" || job.status === "cancelled";
}

/** The name people read: the display name when the server has one. */
export function profileLabel(p: Pick<Profile, "name" | "display_name">): string {
  return p.display_name?.trim() || p.name;
}
