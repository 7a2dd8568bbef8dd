import "./ProfilePicker.css";
import { useId, useState } from "react";
import { profileLabel, type Profile } from "../api";
import { plural } from "../lib/format";
import { CreateProfileForm } from "./CreateProfileForm";

export function ProfilePicker({
  profiles,
  selected,
  onSelect,
  onCreated,
  onDelete,
}: {
  profiles: Profile[];
  selected: string | null;
  onSelect: (name: string) => void;
  onCreated: (p: Profile) => void;
  onDelete: (name: string) => void;
}) {
  const id = useId();
  const [creating, setCreating] = useState(false);

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
      {selected && (
        <button
          type="button"
          className="btn-icon danger"
          title={`Delete “${selected}”`}
          aria-label={`Delete collection ${selected}`}
          onClick={() => {
            if (window.confirm(`Delete the collection “${selected}” and everything indexed in it?`)) onDelete(selected);
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
