-- Kept counts: the figures of SPEC §5 as sums over local days, kept in the transaction that
-- changes the items, so that a window's indicators read a few hundred small rows instead of
-- classifying every item of its scope (`store::kept`).
--
-- They are a cache of the figure functions of 20261206000001_figure_items.sql, never a second
-- definition: each item row contributes +1 to a (figure, day) bin for what it is now, and -1
-- for what it was before a change (a later reception, a moved due date, a resolution), by
-- statement-level triggers on the item tables. The sums over a window's days give its
-- figures; `tests/tests/e2e/kept.rs` holds them equal to the functions' counts on the seed
-- month, the boundary cases and randomized histories.
--
-- Bins (a day is a local calendar day in the zone of `figure_zone`; windows start and end at
-- local midnights, so a window is a whole number of days):
--   dossier.received, .online, .direct, .postal, .digitized   by the day of its reception
--   dossier.settled, .early, .late, .without_result           by the day it counts as resolved
--   dossier.due         +1 on the day of greatest(received, due), -1 on the day of
--                       greatest(settled, due): summed over the days before a midnight E, the
--                       dossiers received and due before E and not settled before E, which
--                       are the overdue ones of a window ending at E
--   dossier.unsettled_due   received, not settled, by the day it is due (the open window's
--                       overdue ones: due before now and not settled)
--   petition.received, .settled; document.issued, .digital; article.published
-- Each figure also has a row on day '-infinity': its total over every day, so that the
-- carried-over figures (received before the window, settled in it or not at all) need only
-- the days from the window's start on.

-- The zone the kept counts are binned in; no row: nothing is kept (the counts scan).
create table figure_zone (
    zone text    not null,
    one  boolean not null default true primary key check (one)
);

create table figure_count (
    unit   text   not null,
    figure text   not null,
    day    date   not null,
    n      bigint not null,
    primary key (unit, figure, day)
);

-- What the statements of a transaction changed, folded into figure_count once at its end, in
-- key order (`store::kept::fold`): the triggers of several statements locking count rows in
-- their own orders could deadlock two concurrent batches. Empty between transactions.
create table figure_delta (
    tx     xid8   not null default pg_current_xact_id(),
    unit   text   not null,
    figure text   not null,
    day    date   not null,
    n      bigint not null
);
create index figure_delta_tx on figure_delta (tx);

-- The open window's overdue dossiers of today: due since midnight and before now.
create index dossier_unit_due_at on dossier (unit, due_at);

-- The local day of `at` in `zone`.
create function local_day(at timestamptz, zone text) returns date
language sql immutable parallel safe as $$ select (at at time zone zone)::date $$;

-- The bins one dossier counts in, with `sign`.
create function dossier_bins(
    received_at timestamptz, channel text, digitized boolean, due_at timestamptz,
    settled_at timestamptz, without_result boolean, zone text, sign int
) returns table (figure text, day date, n int)
language sql immutable parallel safe as $$
    select b.figure, b.day, sign
    from (values
        ('dossier.received', local_day(received_at, zone)),
        ('dossier.' || channel, local_day(received_at, zone)),
        (case when coalesce(digitized, false) then 'dossier.digitized' end,
            local_day(received_at, zone)),
        (case when settled_at is not null then 'dossier.settled' end,
            local_day(settled_at, zone)),
        (case when settled_at is not null and without_result then 'dossier.without_result' end,
            local_day(settled_at, zone)),
        (case when settled_at is not null and not without_result
                   and local_day(settled_at, zone) < local_day(due_at, zone)
              then 'dossier.early' end, local_day(settled_at, zone)),
        (case when settled_at is not null and not without_result and settled_at > due_at
              then 'dossier.late' end, local_day(settled_at, zone)),
        (case when due_at is not null then 'dossier.due' end,
            local_day(greatest(received_at, due_at), zone))
    ) as b (figure, day)
    where received_at is not null and b.figure is not null
    union all
    select b.figure, b.day, -sign
    from (values
        (case when due_at is not null and settled_at is not null then 'dossier.due' end,
            local_day(greatest(settled_at, due_at), zone))
    ) as b (figure, day)
    where received_at is not null and b.figure is not null
    union all
    select 'dossier.unsettled_due', local_day(due_at, zone), sign
    where received_at is not null and settled_at is null and due_at is not null
$$;

create function petition_bins(
    received_at timestamptz, settled_at timestamptz, zone text, sign int
) returns table (figure text, day date, n int)
language sql immutable parallel safe as $$
    select b.figure, b.day, sign
    from (values
        ('petition.received', local_day(received_at, zone)),
        (case when settled_at is not null then 'petition.settled' end,
            local_day(settled_at, zone))
    ) as b (figure, day)
    where received_at is not null and b.figure is not null
$$;

create function document_bins(signed_at timestamptz, digital boolean, zone text, sign int)
returns table (figure text, day date, n int)
language sql immutable parallel safe as $$
    select b.figure, local_day(signed_at, zone), sign
    from (values ('document.issued'), (case when digital then 'document.digital' end))
        as b (figure)
    where b.figure is not null
$$;

create function article_bins(published_at timestamptz, zone text, sign int)
returns table (figure text, day date, n int)
language sql immutable parallel safe as $$
    select 'article.published', local_day(published_at, zone), sign
$$;

-- The triggers: what a statement's new rows count, minus what its old rows counted, summed
-- per bin into figure_delta.
create function dossier_kept() returns trigger language plpgsql as $$
declare
    zone text := (select z.zone from figure_zone z);
begin
    if zone is null then
        return null;
    end if;
    if tg_op = 'INSERT' then
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from new_rows d, dossier_bins(d.received_at, d.channel, d.digitized, d.due_at,
                                      d.settled_at, d.without_result, zone, 1) b
        group by 1, 2, 3;
    elsif tg_op = 'UPDATE' then
        insert into figure_delta (unit, figure, day, n)
        select unit, figure, day, sum(n) from (
            select d.unit, b.figure, b.day, b.n
            from new_rows d, dossier_bins(d.received_at, d.channel, d.digitized, d.due_at,
                                          d.settled_at, d.without_result, zone, 1) b
            union all
            select d.unit, b.figure, b.day, b.n
            from old_rows d, dossier_bins(d.received_at, d.channel, d.digitized, d.due_at,
                                          d.settled_at, d.without_result, zone, -1) b
        ) changed
        group by 1, 2, 3 having sum(n) <> 0;
    else
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from old_rows d, dossier_bins(d.received_at, d.channel, d.digitized, d.due_at,
                                      d.settled_at, d.without_result, zone, -1) b
        group by 1, 2, 3;
    end if;
    return null;
end $$;

create function petition_kept() returns trigger language plpgsql as $$
declare
    zone text := (select z.zone from figure_zone z);
begin
    if zone is null then
        return null;
    end if;
    if tg_op = 'INSERT' then
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from new_rows d, petition_bins(d.received_at, d.settled_at, zone, 1) b
        group by 1, 2, 3;
    elsif tg_op = 'UPDATE' then
        insert into figure_delta (unit, figure, day, n)
        select unit, figure, day, sum(n) from (
            select d.unit, b.figure, b.day, b.n
            from new_rows d, petition_bins(d.received_at, d.settled_at, zone, 1) b
            union all
            select d.unit, b.figure, b.day, b.n
            from old_rows d, petition_bins(d.received_at, d.settled_at, zone, -1) b
        ) changed
        group by 1, 2, 3 having sum(n) <> 0;
    else
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from old_rows d, petition_bins(d.received_at, d.settled_at, zone, -1) b
        group by 1, 2, 3;
    end if;
    return null;
end $$;

create function document_kept() returns trigger language plpgsql as $$
declare
    zone text := (select z.zone from figure_zone z);
begin
    if zone is null then
        return null;
    end if;
    if tg_op = 'INSERT' then
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from new_rows d, document_bins(d.signed_at, d.digital, zone, 1) b
        group by 1, 2, 3;
    elsif tg_op = 'UPDATE' then
        insert into figure_delta (unit, figure, day, n)
        select unit, figure, day, sum(n) from (
            select d.unit, b.figure, b.day, b.n
            from new_rows d, document_bins(d.signed_at, d.digital, zone, 1) b
            union all
            select d.unit, b.figure, b.day, b.n
            from old_rows d, document_bins(d.signed_at, d.digital, zone, -1) b
        ) changed
        group by 1, 2, 3 having sum(n) <> 0;
    else
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from old_rows d, document_bins(d.signed_at, d.digital, zone, -1) b
        group by 1, 2, 3;
    end if;
    return null;
end $$;

create function article_kept() returns trigger language plpgsql as $$
declare
    zone text := (select z.zone from figure_zone z);
begin
    if zone is null then
        return null;
    end if;
    if tg_op = 'INSERT' then
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from new_rows d, article_bins(d.published_at, zone, 1) b
        group by 1, 2, 3;
    elsif tg_op = 'UPDATE' then
        insert into figure_delta (unit, figure, day, n)
        select unit, figure, day, sum(n) from (
            select d.unit, b.figure, b.day, b.n
            from new_rows d, article_bins(d.published_at, zone, 1) b
            union all
            select d.unit, b.figure, b.day, b.n
            from old_rows d, article_bins(d.published_at, zone, -1) b
        ) changed
        group by 1, 2, 3 having sum(n) <> 0;
    else
        insert into figure_delta (unit, figure, day, n)
        select d.unit, b.figure, b.day, sum(b.n)
        from old_rows d, article_bins(d.published_at, zone, -1) b
        group by 1, 2, 3;
    end if;
    return null;
end $$;

create trigger dossier_kept_insert after insert on dossier
    referencing new table as new_rows for each statement execute function dossier_kept();
create trigger dossier_kept_update after update on dossier
    referencing old table as old_rows new table as new_rows
    for each statement execute function dossier_kept();
create trigger dossier_kept_delete after delete on dossier
    referencing old table as old_rows for each statement execute function dossier_kept();

create trigger petition_kept_insert after insert on petition
    referencing new table as new_rows for each statement execute function petition_kept();
create trigger petition_kept_update after update on petition
    referencing old table as old_rows new table as new_rows
    for each statement execute function petition_kept();
create trigger petition_kept_delete after delete on petition
    referencing old table as old_rows for each statement execute function petition_kept();

create trigger document_kept_insert after insert on document
    referencing new table as new_rows for each statement execute function document_kept();
create trigger document_kept_update after update on document
    referencing old table as old_rows new table as new_rows
    for each statement execute function document_kept();
create trigger document_kept_delete after delete on document
    referencing old table as old_rows for each statement execute function document_kept();

create trigger article_kept_insert after insert on article
    referencing new table as new_rows for each statement execute function article_kept();
create trigger article_kept_update after update on article
    referencing old table as old_rows new table as new_rows
    for each statement execute function article_kept();
create trigger article_kept_delete after delete on article
    referencing old table as old_rows for each statement execute function article_kept();
