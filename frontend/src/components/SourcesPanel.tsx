import "./SourcesPanel.css";
import { useId, useRef, useState, type DragEvent, type FormEvent, type ReactNode } from "react";
import { api, type Job } from "../api";
import { parseUrlList, plural } from "../lib/format";
import { useAction } from "../hooks/useAction";
import { useLimits } from "../hooks/useLimits";
import { uploadProblem } from "../lib/limits";
import { ProgressBar } from "./ProgressBar";

type Tab = "upload" | "urls" | "folder" | "instagram";

const TABS: { id: Tab; label: string }[] = [
  { id: "upload", label: "Upload photos" },
  { id: "urls", label: "Web addresses" },
  { id: "folder", label: "Folder on server" },
  { id: "instagram", label: "Instagram export" },
];

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|bmp|tiff?|heic|heif|avif)$/i;

export function isImageFile(f: Pick<File, "name" | "type">): boolean {
  return f.type.startsWith("image/") || IMAGE_EXT.test(f.name);
}

export function SourcesPanel({ profile, onJob }: { profile: string; onJob: (job: Job) => void }) {
  const id = useId();
  const limits = useLimits();
  const [tab, setTab] = useState<Tab>("upload");
  const { busy, error, setError, run } = useAction();
  const [uploadProgress, setUploadProgress] = useState<number | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  async function submit(what: string, start: () => Promise<Job>) {
    setNotice(null);
    const started = await run(async () => {
      onJob(await start());
      setNotice(`${what} — indexing started.`);
    });
    setUploadProgress(undefined);
    return started;
  }

  const uploadFiles = (files: File[]) => {
    const images = files.filter(isImageFile);
    const skipped = files.length - images.length;
    if (!images.length) {
      setError(
        files.some((f) => /\.zip$/i.test(f.name))
          ? "ZIP files go in the “Instagram export” tab."
          : "None of those files look like photos.",
      );
      return Promise.resolve(false);
    }
    const problem = uploadProblem(images, limits);
    if (problem) {
      setError(problem);
      return Promise.resolve(false);
    }
    setUploadProgress(0);
    return submit(
      `Uploaded ${plural(images.length, "photo")}${skipped ? ` (${skipped} other files left out)` : ""}`,
      () => api.uploadFiles(profile, images, (f) => setUploadProgress(f)),
    );
  };

  return (
    <section className="panel sources" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="panel-title">
        Add photos
      </h2>
      <div className="tabs" role="tablist" aria-label="Where the photos come from">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`${id}-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`${id}-panel`}
            data-testid={`source-tab-${t.id}`}
            className={tab === t.id ? "tab active" : "tab"}
            onClick={() => {
              setTab(t.id);
              setError(null);
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${tab}`}>
        {tab === "upload" && <UploadTab busy={busy} onFiles={uploadFiles} />}
        {tab === "urls" && (
          <UrlsTab busy={busy} maxUrls={limits.maxUrls} onUrls={(urls) => submit(`Added ${plural(urls.length, "address", "addresses")}`, () => api.addUrls(profile, urls))} />
        )}
        {tab === "folder" && (
          <FolderTab busy={busy} onFolder={(folder) => submit(`Added ${folder}`, () => api.addFolder(profile, folder))} />
        )}
        {tab === "instagram" && (
          <InstagramTab
            busy={busy}
            onZip={(zip) => {
              const problem = uploadProblem([zip], { ...limits, maxPhotoMb: null });
              if (problem) {
                setError(problem);
                return Promise.resolve(false);
              }
              setUploadProgress(0);
              return submit(`Uploaded ${zip.name}`, () =>
                api.uploadInstagramExport(profile, zip, (f) => setUploadProgress(f)),
              );
            }}
          />
        )}
        {uploadProgress !== undefined && (
          <div className="upload-progress">
            <ProgressBar value={uploadProgress} label="Uploading" testId="upload-progress" />
            <span className="muted small">
              Uploading{uploadProgress != null ? ` ${Math.round(uploadProgress * 100)}%` : "…"}
            </span>
          </div>
        )}
        {error && (
          <p className="field-error" role="alert" data-testid="source-error">
            {error}
          </p>
        )}
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
      </div>
    </section>
  );
}

function UploadTab({ busy, onFiles }: { busy: boolean; onFiles: (files: File[]) => Promise<boolean> }) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    depth.current = 0;
    setDragging(false);
    if (busy) return;
    const files = Array.from(e.dataTransfer.files ?? []);
    if (files.length) void onFiles(files);
  };

  return (
    <div
      className={dragging ? "dropzone dragging" : "dropzone"}
      data-testid="dropzone"
      onDragEnter={(e) => {
        e.preventDefault();
        depth.current++;
        setDragging(true);
      }}
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={() => {
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <svg className="dropzone-icon" viewBox="0 0 24 24" width="36" height="36" aria-hidden="true">
        <path
          fill="currentColor"
          d="M19 7v2.99s-1.99.01-2 0V7h-3s.01-1.99 0-2h3V2h2v3h3v2h-3zm-3 4V8h-3V5H5c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2v-8h-3zM5 19l3-4 2 3 3-4 4 5H5z"
        />
      </svg>
      <p>
        <strong>Drop photos here</strong> or
      </p>
      <label htmlFor={`${id}-files`} className={busy ? "btn btn-primary disabled" : "btn btn-primary"}>
        Choose photos…
      </label>
      <input
        ref={inputRef}
        id={`${id}-files`}
        className="visually-hidden"
        data-testid="upload-input"
        type="file"
        multiple
        accept="image/*,.heic,.heif"
        disabled={busy}
        onChange={async (e) => {
          const files = Array.from(e.target.files ?? []);
          if (files.length) await onFiles(files);
          if (inputRef.current) inputRef.current.value = "";
        }}
      />
      <p className="muted small">JPEG, PNG, WebP, GIF… as many as you like.</p>
    </div>
  );
}

function SubmitRow({
  busy,
  disabled = false,
  label,
  children,
}: {
  busy: boolean;
  disabled?: boolean;
  label: string;
  children?: ReactNode;
}) {
  return (
    <div className="submit-row">
      {children}
      <button type="submit" className="btn btn-primary" disabled={busy || disabled}>
        {busy ? "Sending…" : label}
      </button>
    </div>
  );
}

function UrlsTab({
  busy,
  maxUrls,
  onUrls,
}: {
  busy: boolean;
  maxUrls: number | null;
  onUrls: (urls: string[]) => Promise<boolean>;
}) {
  const id = useId();
  const [text, setText] = useState("");
  const [invalid, setInvalid] = useState<string[]>([]);
  const parsed = parseUrlList(text);
  const tooMany = maxUrls != null && parsed.urls.length > maxUrls;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const { urls, invalid: bad } = parseUrlList(text);
    setInvalid(bad);
    if (bad.length || !urls.length) return;
    if (await onUrls(urls)) setText("");
  }

  return (
    <form onSubmit={submit} className="source-form">
      <label htmlFor={`${id}-urls`} className="field-label">
        Photo addresses, one per line
      </label>
      <textarea
        id={`${id}-urls`}
        data-testid="urls-input"
        rows={5}
        value={text}
        placeholder={"https://example.com/photos/beach.jpg\nhttps://example.com/photos/dog.png"}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          setInvalid([]);
        }}
      />
      {invalid.length > 0 && (
        <p className="field-error" role="alert">
          These lines are not web addresses (they must start with http:// or https://): {invalid.slice(0, 3).join(", ")}
          {invalid.length > 3 ? ` and ${invalid.length - 3} more` : ""}
        </p>
      )}
      {tooMany && (
        <p className="field-error" role="alert">
          That is {parsed.urls.length} addresses; the server takes up to {maxUrls} at a time.
        </p>
      )}
      <SubmitRow busy={busy} disabled={parsed.urls.length === 0 || tooMany} label={parsed.urls.length > 1 ? `Add ${parsed.urls.length} photos` : "Add photo"} />
    </form>
  );
}

function FolderTab({ busy, onFolder }: { busy: boolean; onFolder: (folder: string) => Promise<boolean> }) {
  const id = useId();
  const [folder, setFolder] = useState("");
  const trimmed = folder.trim();
  const relative = trimmed !== "" && !trimmed.startsWith("/");

  return (
    <form
      className="source-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!trimmed || relative) return;
        if (await onFolder(trimmed)) setFolder("");
      }}
    >
      <label htmlFor={`${id}-folder`} className="field-label">
        Folder on the server (absolute path)
      </label>
      <input
        id={`${id}-folder`}
        data-testid="folder-input"
        type="text"
        value={folder}
        placeholder="/home/me/Pictures/2024"
        spellCheck={false}
        onChange={(e) => setFolder(e.target.value)}
      />
      {relative && <p className="field-error">Use the full path, starting with “/”.</p>}
      <p className="hint">The server reads every photo in this folder and its sub-folders.</p>
      <SubmitRow busy={busy} disabled={!trimmed || relative} label="Add folder" />
    </form>
  );
}

function InstagramTab({ busy, onZip }: { busy: boolean; onZip: (zip: File) => Promise<boolean> }) {
  const id = useId();
  const [zip, setZip] = useState<File | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  return (
    <form
      className="source-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!zip) return;
        if (await onZip(zip)) {
          setZip(null);
          if (inputRef.current) inputRef.current.value = "";
        }
      }}
    >
      <label htmlFor={`${id}-zip`} className="field-label">
        Instagram data export (ZIP)
      </label>
      <input
        ref={inputRef}
        id={`${id}-zip`}
        data-testid="instagram-input"
        type="file"
        accept=".zip,application/zip"
        onChange={(e) => setZip(e.target.files?.[0] ?? null)}
      />
      <p className="hint">
        In Instagram: Settings → Your activity → Download your information. The post captions, hashtags and dates
        become searchable too.
      </p>
      <SubmitRow busy={busy} disabled={!zip} label="Upload export" />
    </form>
  );
}
