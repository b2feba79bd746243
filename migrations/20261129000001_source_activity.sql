-- When each unit last heard of each event type, for the dashboard's pipeline health: one row
-- per unit and type, moved forward by every batch that stores a new event of that type, so
-- that "last event per source" is a key lookup rather than a scan of the event table.
create table source_activity (
    unit             text        not null,
    event_type       text        not null,
    events           bigint      not null,
    last_stored_at   timestamptz not null,
    last_occurred_at timestamptz not null,
    primary key (unit, event_type)
);

-- What was stored before this table existed.
insert into source_activity (unit, event_type, events, last_stored_at, last_occurred_at)
select unit, event_type, count(*), max(stored_at), max(occurred_at)
from event group by unit, event_type;
