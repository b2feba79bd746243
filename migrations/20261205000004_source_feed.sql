-- Bodies of the upstream systems' own formats (SPEC §3.5), by the source that sent them (the
-- configured `[[source]]` of the HTTP route, or the `x-baocao-source` header of a body
-- published to the broker, else 'broker'): what the dashboard shows of each source, and what
-- tells a source silent in office hours.
create table source_feed (
    source        text        primary key,
    dialect       text        not null,
    last_body_at  timestamptz not null,
    last_records  int         not null,
    bodies        bigint      not null,
    records       bigint      not null
);

-- A dead letter from a source's body names the source, for its refused records of the day.
alter table rejection add column source text;
create index rejection_source on rejection (source, rejected_at desc) where source is not null;
