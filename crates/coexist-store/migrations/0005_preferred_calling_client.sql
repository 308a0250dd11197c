-- R9.2: a legacy-policy user's own calling client choice (teams | sfb),
-- used while their TeamsInteropPolicy has AllowEndUserClientOverride.
-- NULL: no choice made.
ALTER TABLE users ADD COLUMN preferred_calling_client TEXT;
