-- Reports as sent, and their email outbox (SPEC §7).

-- One row per revision of a unit's report for a period. Revision 1 is the scheduled report;
-- the primary key on (unit, period, revision) is what lets any number of reporters run: the
-- first to insert a revision does the job, the others find it done. The figures, the text and
-- the attachments are frozen here, so what was sent can be shown and re-sent as it was.
create table report (
    report_id    bigint generated always as identity primary key,
    unit         text        not null,
    period       text        not null,
    revision     int         not null check (revision > 0),
    number       int,                      -- null when the clerk numbers by hand
    issued_on    date        not null,
    indicators   jsonb       not null,     -- the indicators document as frozen
    mail_from    text        not null,     -- "UBND phường Trí Quả <vanthu@…>"
    subject      text        not null,
    body_text    text        not null,
    body_html    text        not null,
    docx         bytea       not null,
    pdf          bytea       not null,
    created_at   timestamptz not null default now(),
    unique (unit, period, revision)
);

-- One message per report revision and address. A sender claims a row by moving it to
-- 'sending' with a lease (claimed_until); a sender that dies leaves the lease to expire and
-- the row is claimed again.
create table outbox (
    outbox_id       bigint generated always as identity primary key,
    report_id       bigint      not null references report,
    address         text        not null,
    label           text        not null,  -- the "Nơi nhận" line it belongs to
    message_id      text        not null unique,
    state           text        not null default 'queued'
                    check (state in ('queued', 'sending', 'retrying', 'sent', 'failed')),
    attempts        int         not null default 0,
    next_attempt_at timestamptz not null default now(),
    claimed_until   timestamptz,
    last_error      text,
    sent_at         timestamptz,
    unique (report_id, address)
);
create index outbox_due on outbox (next_attempt_at) where state in ('queued', 'retrying', 'sending');

-- Every attempt to hand a message to the SMTP server, with what came back.
create table delivery_attempt (
    delivery_attempt_id bigint generated always as identity primary key,
    outbox_id           bigint      not null references outbox,
    attempted_at        timestamptz not null default now(),
    outcome             text        not null check (outcome in ('sent', 'retry', 'failed')),
    reply               text        -- the server's reply or the error
);
create index delivery_attempt_outbox on delivery_attempt (outbox_id, attempted_at);

-- When baocao first ran for each unit: reports are never issued for periods that ended before.
create table unit_registration (
    unit          text primary key,
    configured_at timestamptz not null
);
