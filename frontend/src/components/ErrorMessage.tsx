import "./ErrorMessage.css";
import { errorText } from "../lib/errors";

export function ErrorMessage({
  error,
  onRetry,
  onDismiss,
  testId = "error",
}: {
  error: unknown;
  onRetry?: () => void;
  onDismiss?: () => void;
  testId?: string;
}) {
  if (error == null || error === "") return null;
  return (
    <div className="error-message" role="alert" data-testid={testId}>
      <span className="error-icon" aria-hidden="true">
        !
      </span>
      <span className="error-text">{typeof error === "string" ? error : errorText(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
      {onDismiss && (
        <button type="button" className="btn-icon" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}
