import { useId, useState, type FormEvent } from "react";
import { api, profileLabel, type Profile } from "../api";
import { useAction } from "../hooks/useAction";

/** Rename a collection on screen (PATCH display_name): its address, and so every shared link, stays. */
export function RenameProfileForm({
  profile,
  onRenamed,
  onCancel,
}: {
  profile: Profile;
  onRenamed: (p: Profile) => void;
  onCancel: () => void;
}) {
  const id = useId();
  const [name, setName] = useState(profileLabel(profile));
  const { busy, error, run } = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    await run(async () => onRenamed(await api.renameProfile(profile.name, name.trim())));
  }

  return (
    <form className="create-profile compact" onSubmit={submit} noValidate onKeyDown={(e) => e.key === "Escape" && onCancel()}>
      <label htmlFor={`${id}-name`} className="visually-hidden">
        New name for the collection
      </label>
      <div className="input-row">
        <input
          id={`${id}-name`}
          data-testid="profile-rename-input"
          type="text"
          value={name}
          autoFocus
          autoComplete="off"
          maxLength={200}
          aria-invalid={error ? true : undefined}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" data-testid="profile-rename-submit" disabled={busy || !name.trim()}>
          {busy ? "Saving…" : "Rename"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p className="field-error" role="alert" hidden={!error}>
        {error}
      </p>
    </form>
  );
}
