-- OpenID Connect: identities (a person's account at a provider, keyed by the provider's
-- issuer and subject, linked to a user) and the logins under way between the redirect to a
-- provider and its callback, kept here so any copy of the server can finish one, once.
CREATE TABLE identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (issuer, subject)
);
CREATE INDEX identities_user_idx ON identities (user_id);

CREATE TABLE pending_logins (
    state         BYTEA PRIMARY KEY,
    provider      TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    invite        TEXT,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX pending_logins_expiry_idx ON pending_logins (expires_at);
