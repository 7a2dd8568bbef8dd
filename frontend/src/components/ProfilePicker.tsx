import "./ProfilePicker.css";
import { useId, useState } from "react";
import { profileLabel, type Profile } from "../api";
import { plural } from "../lib/format";
import { CreateProfileForm } from "./CreateProfileForm";
import { RenameProfileForm } from "./RenameProfileForm";

export function ProfilePicker({
  profiles,
  selected,
  onSelect,
  onCreated,
  onRenamed,
  onDelete,
}: {
  profiles: Profile[];
  selected: string | null;
  onSelect: (name: string) => void;
  onCreated: (p: Profile) => void;
  onRenamed: (p: Profile) => void;
  onDelete: (name: string) => void;
}) {
  const id = useId();
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const current = profiles.find((p) => p.name === selected) ?? null;

  if (renaming && current) {
    return (
      <div className="profile-picker">
        <RenameProfileForm
          profile={current}
          onRenamed={(p) => {
            setRenaming(false);
            onRenamed(p);
          }}
          onCancel={() => setRenaming(false)}
        />
      </div>
    );
  }

  if (creating) {
    return (
      <div className="profile-picker">
        <CreateProfileForm
          compact
          autoFocus
          onCreated={(p) => {
            setCreating(false);
            onCreated(p);
          }}
          onCancel={() => setCreating(false)}
        />
      </div>
    );
  }

  return (
    <div className="profile-picker">
      <label htmlFor={`${id}-select`} className="visually-hidden">
        Photo collection
      </label>
      <select
        id={`${id}-select`}
        data-testid="profile-select"
        value={selected ?? ""}
        onChange={(e) => onSelect(e.target.value)}
      >
        {selected == null && (
          <option value="" disabled>
            Choose a collection…
          </option>
        )}
        {profiles.map((p) => (
          <option key={p.name} value={p.name} title={plural(p.photo_count, "photo")}>
            {profileLabel(p)} ({p.photo_count.toLocaleString()})
          </option>
        ))}
      </select>
      <button type="button" className="btn" data-testid="profile-new" onClick={() => setCreating(true)}>
        + New
      </button>
      {current && (
        <button
          type="button"
          className="btn-icon"
          title={`Rename “${profileLabel(current)}”`}
          aria-label={`Rename collection ${profileLabel(current)}`}
          data-testid="profile-rename"
          onClick={() => setRenaming(true)}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path
              fill="currentColor"
              d="M3 17.25V21h3.75L17.81 9.94l-3.75-3.75L3 17.25zM20.71 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z"
            />
          </svg>
        </button>
      )}
      {current && (
        <button
          type="button"
          className="btn-icon danger"
          title={`Delete “${profileLabel(current)}”`}
          aria-label={`Delete collection ${profileLabel(current)}`}
          onClick={() => {
            if (window.confirm(`Delete the collection “${profileLabel(current)}” and everything indexed in it?`)) onDelete(current.name);
          }}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path
              fill="currentColor"
              d="M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h2v-8h-2zm4 0v8h2v-8h-2z"
            />
          </svg>
        </button>
      )}
    </div>
  );
}
