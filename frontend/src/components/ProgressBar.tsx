import "./ProgressBar.css";
export function ProgressBar({
  value,
  label,
  tone = "normal",
  testId,
}: {
  /** 0..1, or null for an indeterminate bar. */
  value: number | null;
  label: string;
  tone?: "normal" | "success" | "warning" | "danger";
  testId?: string;
}) {
  const pct = value == null ? undefined : Math.round(Math.min(Math.max(value, 0), 1) * 100);
  return (
    <div
      className={`progress progress-${tone}${value == null ? " progress-indeterminate" : ""}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-testid={testId}
    >
      <div className="progress-fill" style={{ width: pct == null ? undefined : `${pct}%` }} />
    </div>
  );
}
