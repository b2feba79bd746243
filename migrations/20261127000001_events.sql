-- Raw events and the per-item state the indicators are counted from (SPEC §3–§5).

-- Every event accepted, once: the first body seen under an id is kept.
create table event (
    event_id    uuid primary key,
    unit        text not null,
    event_type  text not null,
    occurred_at timestamptz not null,
    -- As received (json keeps the text; jsonb would cost a conversion per event).
    body        json not null,
    stored_at   timestamptz not null default now()
);

-- Things that did not add up, kept for the administrator: the same event id with another body,
-- or a second received/resolved/signed/published event for the same item.
create table conflict (
    conflict_id bigserial primary key,
    unit        text not null,
    -- 'event_body' | 'document' | 'article' | 'petition_received' | 'petition_resolved'
    -- | 'dossier_received' | 'dossier_resolved'
    kind        text not null,
    -- The event id (for 'event_body') or the item's id.
    subject     text not null,
    -- The event that arrived second.
    event_id    uuid not null,
    -- Its body, for 'event_body' conflicts.
    body        json,
    detected_at timestamptz not null default now()
);
create index conflict_unit_detected_at on conflict (unit, detected_at);

-- One row per document: its earliest document.signed event.
create table document (
    unit        text not null,
    document_id text not null,
    signed_at   timestamptz not null,
    digital     boolean not null,
    number      text,
    event_id    uuid not null,
    primary key (unit, document_id)
);
create index document_unit_signed_at on document (unit, signed_at);

-- One row per article: its earliest article.published event.
create table article (
    unit         text not null,
    article_id   text not null,
    published_at timestamptz not null,
    title        text,
    event_id     uuid not null,
    primary key (unit, article_id)
);
create index article_unit_published_at on article (unit, published_at);

-- One row per petition. received_at is null while only its resolved event has arrived (an
-- orphan); it is counted once its received event arrives.
create table petition (
    unit              text not null,
    petition_id       text not null,
    received_at       timestamptz,
    resolved_at       timestamptz,
    received_event_id uuid,
    resolved_event_id uuid,
    primary key (unit, petition_id)
) with (fillfactor = 80);
create index petition_unit_received_at on petition (unit, received_at);

-- One row per administrative-procedure dossier, as petition; the received columns come from
-- its earliest procedure.received event.
create table dossier (
    unit              text not null,
    dossier_id        text not null,
    received_at       timestamptz,
    channel           text check (channel in ('online', 'direct', 'postal')),
    due_at            timestamptz,
    digitized         boolean,
    resolved_at       timestamptz,
    received_event_id uuid,
    resolved_event_id uuid,
    primary key (unit, dossier_id)
) with (fillfactor = 80); -- room for the resolved update on the same page (HOT, no index writes)
create index dossier_unit_received_at on dossier (unit, received_at);
