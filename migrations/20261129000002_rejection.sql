-- Every dead-lettered message, recorded when the broker confirmed the dead letter: what the
-- dashboard and `GET /api/dead-letters` show, counted by reason with the latest examples,
-- without reading the dead-letter queue (a read hands the message back and, on quorum queues
-- with a delivery limit, counts as a delivery). The queue stays the source for replay.
create table rejection (
    rejection_id bigint generated always as identity primary key,
    rejected_at  timestamptz not null default now(),
    reason       text        not null,
    detail       text        not null,
    exchange     text        not null,
    routing_key  text        not null,
    queue        text        not null,
    body_excerpt text        not null,  -- the first 4,000 characters, as received
    body_bytes   int         not null
);
create index rejection_rejected_at on rejection (rejected_at desc);
create index rejection_reason on rejection (reason, rejected_at desc);
