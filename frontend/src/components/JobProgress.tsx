import "./JobProgress.css";
import type { Job } from "../api";
import { isJobFinished } from "../api";
import { jobFraction, jobTitle, plural } from "../lib/format";
import { ProgressBar } from "./ProgressBar";

function statusLine(job: Job): string {
  switch (job.status) {
    case "queued":
      return "Waiting to start…";
    case "running":
      return job.total
        ? `Describing photos… ${Math.min(job.done + job.failed + job.skipped, job.total)} of ${job.total}`
        : "Looking for photos…";
    case "done":
      return job.failed ? "Finished, with some problems" : "Finished";
    case "failed":
      return "Stopped";
    case "cancelled":
      return "Cancelled";
  }
}

export function JobProgress({ job, onDismiss }: { job: Job; onDismiss?: () => void }) {
  const finished = isJobFinished(job);
  const tone = job.status === "failed" ? "danger" : finished ? (job.failed ? "warning" : "success") : "normal";
  const indeterminate = !finished && (job.status === "queued" || !job.total);
  return (
    <article
      className={`job job-${job.status}${finished && job.failed ? " job-warn" : ""}`}
      data-testid="job-progress"
      data-status={job.status}
      data-job-id={job.id}
      aria-live="polite"
    >
      <header className="job-head">
        <strong>{jobTitle(job)}</strong>
        <span className="job-status" data-testid="job-status">
          {statusLine(job)}
        </span>
        {finished && onDismiss && (
          <button type="button" className="btn-icon" aria-label={`Dismiss ${jobTitle(job)}`} onClick={onDismiss}>
            ×
          </button>
        )}
      </header>
      <ProgressBar
        value={indeterminate ? null : jobFraction(job)}
        label={`${jobTitle(job)} progress`}
        tone={tone}
        testId="job-progress-bar"
      />
      <p className="job-counts" data-testid="job-counts">
        <span className="count-done">
          {job.done} of {plural(job.total, "photo")} ready
        </span>
        {job.failed > 0 && <span className="count-failed">{job.failed} failed</span>}
        {job.skipped > 0 && <span className="count-skipped">{job.skipped} skipped</span>}
      </p>
      {job.error && (
        <p className="field-error" role="alert">
          {job.error}
        </p>
      )}
      {finished && job.failures.length > 0 && (
        <details className="job-failures" open={job.failures.length <= 3}>
          <summary>
            {plural(job.failures.length, "photo")} could not be used
          </summary>
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
