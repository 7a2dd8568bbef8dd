import { useId, useState, type FormEvent } from "react";
import { api, type Profile } from "../api";
import { useAction } from "../hooks/useAction";

export function CreateProfileForm({
  onCreated,
  onCancel,
  autoFocus = false,
  compact = false,
}: {
  onCreated: (p: Profile) => void;
  onCancel?: () => void;
  autoFocus?: boolean;
  compact?: boolean;
}) {
  const id = useId();
  const [name, setName] = useState("");
  const { busy, error, setError, run } = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    await run(async () => {
      const profile = await api.createProfile(name.trim());
      setName("");
      onCreated(profile);
    });
  }

  return (
    <form className={compact ? "create-profile compact" : "create-profile"} onSubmit={submit} noValidate>
      <label htmlFor={`${id}-name`} className={compact ? "visually-hidden" : "field-label"}>
        Name your photo collection
      </label>
      <div className="input-row">
        <input
          id={`${id}-name`}
          data-testid="profile-create-input"
          type="text"
          value={name}
          placeholder="e.g. Summer in Zürich"
          autoFocus={autoFocus}
          autoComplete="off"
          spellCheck={false}
          maxLength={200}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-hint ${id}-error`}
          onChange={(e) => {
            setName(e.target.value);
            if (error) setError(null);
          }}
        />
        <button type="submit" className="btn btn-primary" data-testid="profile-create-submit" disabled={busy}>
          {busy ? "Creating…" : "Create"}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {!compact && (
        <p id={`${id}-hint`} className="hint">
          Any name you like — spaces and accents are fine.
        </p>
      )}
      <p id={`${id}-error`} className="field-error" role="alert" data-testid="profile-create-error" hidden={!error}>
        {error}
      </p>
    </form>
  );
}
