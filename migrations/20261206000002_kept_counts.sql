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

-- What each item counts in is said in two steps: its shape (the local days and flags its
-- figures depend on), then the bins of a shape. Items of one shape count in the same bins, so
-- a statement's rows are grouped by shape before they are binned: a batch of a thousand
-- dossiers has a few dozen shapes.

-- The shape of a dossier; none before it is received.
create function dossier_shape(
    received_at timestamptz, channel text, digitized boolean, due_at timestamptz,
    settled_at timestamptz, without_result boolean, zone text
) returns table (
    received_day date, via text, is_digitized boolean, settled_day date, no_result boolean,
    late boolean, due_day date, due_from date, due_until date
)
language sql immutable parallel safe as $$
    select local_day(received_at, zone), channel, coalesce(digitized, false),
           local_day(settled_at, zone), without_result, settled_at > due_at,
           local_day(due_at, zone), local_day(greatest(received_at, due_at), zone),
           local_day(greatest(settled_at, due_at), zone)
    where received_at is not null
$$;

-- The bins `dossiers` dossiers of one shape count in.
create function dossier_bins(
    received_day date, via text, is_digitized boolean, settled_day date, no_result boolean,
    late boolean, due_day date, due_from date, due_until date, dossiers bigint
) returns table (figure text, day date, n bigint)
language sql immutable parallel safe as $$
    select b.figure, b.day, dossiers * b.sign
    from (values
        ('dossier.received', received_day, 1),
        ('dossier.' || via, received_day, 1),
        (case when is_digitized then 'dossier.digitized' end, received_day, 1),
        (case when settled_day is not null then 'dossier.settled' end, settled_day, 1),
        (case when settled_day is not null and no_result then 'dossier.without_result' end,
            settled_day, 1),
        (case when settled_day is not null and not no_result and settled_day < due_day
              then 'dossier.early' end, settled_day, 1),
        (case when settled_day is not null and not no_result and late
              then 'dossier.late' end, settled_day, 1),
        (case when due_day is not null then 'dossier.due' end, due_from, 1),
        (case when due_day is not null and settled_day is not null then 'dossier.due' end,
            due_until, -1),
        (case when due_day is not null and settled_day is null
              then 'dossier.unsettled_due' end, due_day, 1)
    ) as b (figure, day, sign)
    where b.figure is not null
$$;

create function petition_shape(received_at timestamptz, settled_at timestamptz, zone text)
returns table (received_day date, settled_day date)
language sql immutable parallel safe as $$
    select local_day(received_at, zone), local_day(settled_at, zone)
    where received_at is not null
$$;

create function petition_bins(received_day date, settled_day date, petitions bigint)
returns table (figure text, day date, n bigint)
language sql immutable parallel safe as $$
    select b.figure, b.day, petitions
    from (values
        ('petition.received', received_day),
        (case when settled_day is not null then 'petition.settled' end, settled_day)
    ) as b (figure, day)
    where b.figure is not null
$$;

create function document_shape(signed_at timestamptz, digital boolean, zone text)
returns table (signed_day date, is_digital boolean)
language sql immutable parallel safe as $$
    select local_day(signed_at, zone), digital
$$;

create function document_bins(signed_day date, is_digital boolean, documents bigint)
returns table (figure text, day date, n bigint)
language sql immutable parallel safe as $$
    select b.figure, signed_day, documents
    from (values ('document.issued'), (case when is_digital then 'document.digital' end))
        as b (figure)
    where b.figure is not null
$$;

create function article_shape(published_at timestamptz, zone text)
returns table (published_day date)
language sql immutable parallel safe as $$
    select local_day(published_at, zone)
$$;

create function article_bins(published_day date, articles bigint)
returns table (figure text, day date, n bigint)
language sql immutable parallel safe as $$
    select 'article.published', published_day, articles
$$;

-- The trigger: what the rows of a statement count, with the sign its trigger passes (+1 for
-- the rows an insert or update leaves, -1 for those an update or delete takes away), summed
-- per bin into figure_delta. Each trigger names its rows `changed`; its statement is planned
-- once per session (PL/pgSQL keeps a plan per trigger), and the shapes are grouped in it.
create function kept_figures() returns trigger language plpgsql as $$
declare
    zone text := (select z.zone from figure_zone z);
    sign int := tg_argv[0];
begin
    if zone is null then
        return null;
    end if;
    if tg_table_name = 'dossier' then
        insert into figure_delta (unit, figure, day, n)
        select g.unit, b.figure, b.day, sum(b.n)
        from (
            select d.unit, s.*, count(*) * sign as n
            from changed d, dossier_shape(d.received_at, d.channel, d.digitized, d.due_at,
                                          d.settled_at, d.without_result, zone) s
            group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
        ) g, dossier_bins(g.received_day, g.via, g.is_digitized, g.settled_day, g.no_result,
                          g.late, g.due_day, g.due_from, g.due_until, g.n) b
        group by 1, 2, 3;
    elsif tg_table_name = 'petition' then
        insert into figure_delta (unit, figure, day, n)
        select g.unit, b.figure, b.day, sum(b.n)
        from (
            select d.unit, s.*, count(*) * sign as n
            from changed d, petition_shape(d.received_at, d.settled_at, zone) s
            group by 1, 2, 3
        ) g, petition_bins(g.received_day, g.settled_day, g.n) b
        group by 1, 2, 3;
    elsif tg_table_name = 'document' then
        insert into figure_delta (unit, figure, day, n)
        select g.unit, b.figure, b.day, sum(b.n)
        from (
            select d.unit, s.*, count(*) * sign as n
            from changed d, document_shape(d.signed_at, d.digital, zone) s
            group by 1, 2, 3
        ) g, document_bins(g.signed_day, g.is_digital, g.n) b
        group by 1, 2, 3;
    else
        insert into figure_delta (unit, figure, day, n)
        select g.unit, b.figure, b.day, sum(b.n)
        from (
            select d.unit, s.*, count(*) * sign as n
            from changed d, article_shape(d.published_at, zone) s
            group by 1, 2
        ) g, article_bins(g.published_day, g.n) b
        group by 1, 2, 3;
    end if;
    return null;
end $$;

create trigger dossier_kept_inserted after insert on dossier
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger dossier_kept_updated_to after update on dossier
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger dossier_kept_updated_from after update on dossier
    referencing old table as changed for each statement execute function kept_figures('-1');
create trigger dossier_kept_deleted after delete on dossier
    referencing old table as changed for each statement execute function kept_figures('-1');

create trigger petition_kept_inserted after insert on petition
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger petition_kept_updated_to after update on petition
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger petition_kept_updated_from after update on petition
    referencing old table as changed for each statement execute function kept_figures('-1');
create trigger petition_kept_deleted after delete on petition
    referencing old table as changed for each statement execute function kept_figures('-1');

create trigger document_kept_inserted after insert on document
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger document_kept_updated_to after update on document
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger document_kept_updated_from after update on document
    referencing old table as changed for each statement execute function kept_figures('-1');
create trigger document_kept_deleted after delete on document
    referencing old table as changed for each statement execute function kept_figures('-1');

create trigger article_kept_inserted after insert on article
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger article_kept_updated_to after update on article
    referencing new table as changed for each statement execute function kept_figures('1');
create trigger article_kept_updated_from after update on article
    referencing old table as changed for each statement execute function kept_figures('-1');
create trigger article_kept_deleted after delete on article
    referencing old table as changed for each statement execute function kept_figures('-1');
