-- The app's own look on the pages fypass shows its users (`fypass client set-branding`).
ALTER TABLE clients ADD COLUMN logo_url TEXT;        -- https URL, validated by the CLI
ALTER TABLE clients ADD COLUMN accent_color TEXT;    -- '#rrggbb'

-- The app whose login request opened a browser session: /devices and /account show it.
ALTER TABLE sessions ADD COLUMN client_id UUID REFERENCES clients (id);
