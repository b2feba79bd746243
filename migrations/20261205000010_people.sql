-- People signed in through the province's identity provider (SPEC §10, "People and what they
-- may touch"): their sessions, the sign-ins under way, and the audit list of what was changed.

-- A signed-in person's session. The cookie holds a random token; only its SHA-256 is stored, so
-- that reading this table gives no one a session. The groups are the provider's, as the ID token
-- said at sign-in; what they allow is decided on each request from `[[auth.role]]`.
create table session (
    session_id  text        primary key,
    subject     text        not null,
    name        text,
    groups      text[]      not null,
    created_at  timestamptz not null default now(),
    seen_at     timestamptz not null default now(),
    expires_at  timestamptz not null
);
create index session_expires on session (expires_at);

-- A sign-in under way: the state sent to the provider, with the nonce and PKCE verifier it must
-- come back to. Taken (deleted) by the callback; one left over expires after ten minutes.
create table sign_in (
    state         text        primary key,
    nonce         text        not null,
    pkce_verifier text        not null,
    created_at    timestamptz not null default now()
);

-- Who changed what: every narrative edit, send and correction, written in the transaction of
-- the change itself. `who` is the provider's subject, `cli:<os user>`, `scheduler` or
-- `admin-token`; `who_name` the person's name as the provider gave it.
create table audit (
    audit_id  bigint      generated always as identity primary key,
    at        timestamptz not null default now(),
    who       text        not null,
    who_name  text,
    unit      text        not null,
    period    text        not null,
    action    text        not null,
    detail    text        not null
);
create index audit_unit_at on audit (unit, at desc);
create index audit_at on audit (at desc);
