-- Dead letters counted by reason as they are recorded, so that the dashboard's counts cost
-- one small read whatever the log holds, and stay whole when old rows of `rejection` are
-- pruned (`[ingest] rejection_retention_days`).
create table rejection_count (
    reason     text        primary key,
    rejections bigint      not null,
    last_at    timestamptz not null
);

insert into rejection_count (reason, rejections, last_at)
select reason, count(*), max(rejected_at) from rejection group by reason;
