import { useState } from "react";
import "./JobProgress.css";
import type { Job } from "../api";
import { isJobFinished } from "../api";
import { errorText } from "../lib/errors";
import { jobFraction, jobOutcome, jobTitle, plural } from "../lib/format";
import { ProgressBar } from "./ProgressBar";

function statusLine(job: Job): string {
  const outcome = jobOutcome(job);
  if (outcome === "running") {
    if (job.status === "queued") return "Waiting to start…";
    return job.total
      ? `Describing photos… ${Math.min(job.done + job.failed + job.skipped, job.total)} of ${job.total}`
      : "Looking for photos…";
  }
  switch (outcome) {
    case "done":
      return "Finished";
    case "partial":
      return "Finished, with some problems";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return job.status === "done" ? "Failed: none of the photos could be used" : "Failed";
  }
}

/** One ingest job: what it adds and to which collection, how far it got, and what went wrong. */
export function JobProgress({
  job,
  onDismiss,
  onCancel,
}: {
  job: Job;
  onDismiss?: () => void;
  onCancel?: () => Promise<void>;
}) {
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const finished = isJobFinished(job);
  const outcome = jobOutcome(job);
  const tone = outcome === "failed" ? "danger" : outcome === "partial" || outcome === "cancelled" ? "warning" : outcome === "done" ? "success" : "normal";
  const indeterminate = !finished && (job.status === "queued" || !job.total);
  const title = jobTitle(job);
  const already = job.already ?? 0;
  return (
    <article
      className={`job job-${outcome}`}
      data-testid="job-progress"
      data-status={job.status}
      data-outcome={outcome}
      data-job-id={job.id}
      aria-live="polite"
    >
      <header className="job-head">
        <div className="job-head-text">
          <strong className="job-title" data-testid="job-title" title={title}>
            {title}
          </strong>
          <span className="job-status" data-testid="job-status">
            {statusLine(job)}
          </span>
        </div>
        {!finished && onCancel && (
          <button
            type="button"
            className="btn btn-small"
            data-testid="job-cancel"
            disabled={cancelling}
            onClick={async () => {
              setCancelling(true);
              setCancelError(null);
              try {
                await onCancel();
              } catch (err) {
                setCancelError(`Could not cancel: ${errorText(err)}`);
              } finally {
                setCancelling(false);
              }
            }}
          >
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {finished && onDismiss && (
          <button type="button" className="btn-icon" aria-label={`Dismiss ${title}`} data-testid="job-dismiss" onClick={onDismiss}>
            ×
          </button>
        )}
      </header>
      <ProgressBar value={indeterminate ? null : jobFraction(job)} label={`${title} progress`} tone={tone} testId="job-progress-bar" />
      <p className="job-counts" data-testid="job-counts">
        <span className="count-done">
          {job.done} of {plural(job.total, "photo")} ready
        </span>
        {already > 0 && (
          <span className="count-already" data-testid="job-already">
            {already} already in the collection
          </span>
        )}
        {job.failed > 0 && <span className="count-failed">{job.failed} failed</span>}
        {job.skipped > 0 && (
          <span className="count-skipped">
            {job.skipped} {job.kind === "redescribe" ? "already described by these models" : "skipped"}
          </span>
        )}
      </p>
      {(job.error || cancelError) && (
        <p className="field-error" role="alert">
          {cancelError ?? job.error}
        </p>
      )}
      {finished && job.failures.length > 0 && (
        <details className="job-failures" open={job.failures.length <= 3}>
          <summary>{plural(job.failures.length, "photo")} could not be used</summary>
          <ul data-testid="job-failures">
            {job.failures.map((f, i) => (
              <li key={i}>
                <code className="failure-source" title={f.source}>
                  {f.source}
                </code>
                <span className="failure-error">{f.error}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}
