-- Every figure of SPEC §5 is the count of a list of items (§5.1). Each rule is written once,
-- here: a function per kind of item classifies each item of a window's scope into the figures
-- it counts in (a flag per figure, and their names in `figures`). The counts
-- (`store::indicators`) count the flags; the lists (`store::items`) are the rows whose
-- `figures` name the figure; a report's issue keeps its rows (`report_item`). The functions are
-- single SELECTs, STABLE: PostgreSQL inlines them into the statement that calls them, so a
-- count plans as if written out in full.

-- Dossiers of `p_units` in the scope of the window [p_start, p_end): received before its end
-- and not settled before its start. Pending dossiers are overdue when due before
-- `p_overdue_at` (the window's end, or now for the open window). "Early" is a settlement before
-- the first instant of the due date's local day in `p_zone`; where the zone keeps one offset
-- around the window, days are 24-hour bins from `p_midnight` (no zone lookup per row).
create function dossier_figures(
    p_units text[], p_start timestamptz, p_end timestamptz, p_overdue_at timestamptz,
    p_zone text, p_midnight timestamptz
) returns table (
    unit text, dossier_id text, procedure_code text, channel text, received_at timestamptz,
    due_at timestamptz, settled_at timestamptz, digitized boolean, without_result boolean,
    carried_over boolean, received boolean, online boolean, direct boolean, postal boolean,
    is_digitized boolean, resolved boolean, resolved_early boolean, resolved_on_time boolean,
    resolved_late boolean, resolved_without_result boolean, pending boolean,
    pending_on_time boolean, pending_overdue boolean, figures text[]
) language sql stable parallel safe as $$
    select unit, dossier_id, procedure_code, channel, received_at, due_at, settled_at,
           digitized, without_result,
           carried_over, received, online, direct, postal, is_digitized,
           resolved, resolved_early, resolved_on_time, resolved_late, resolved_without_result,
           pending, pending_on_time, pending_overdue,
           array_remove(array[
               case when carried_over then 'procedures.carried_over' end,
               case when received then 'procedures.received' end,
               case when online then 'procedures.online' end,
               case when direct then 'procedures.direct' end,
               case when postal then 'procedures.postal' end,
               case when is_digitized then 'procedures.digitized' end,
               case when resolved then 'procedures.resolved' end,
               case when resolved_early then 'procedures.resolved_early' end,
               case when resolved_on_time then 'procedures.resolved_on_time' end,
               case when resolved_late then 'procedures.resolved_late' end,
               case when resolved_without_result then 'procedures.resolved_without_result' end,
               case when pending then 'procedures.pending' end,
               case when pending_on_time then 'procedures.pending_on_time' end,
               case when pending_overdue then 'procedures.pending_overdue' end
           ], null)
    from (
        select *,
               resolved and not resolved_early and not resolved_late as resolved_on_time,
               resolved and without_result as resolved_without_result,
               pending and not pending_overdue as pending_on_time
        from (
            select d.unit, d.dossier_id, d.procedure_code, d.channel, d.received_at, d.due_at,
                   d.settled_at, coalesce(d.digitized, false) as digitized, d.without_result,
                   d.received_at < p_start as carried_over,
                   d.received_at >= p_start as received,
                   d.received_at >= p_start and d.channel = 'online' as online,
                   d.received_at >= p_start and d.channel = 'direct' as direct,
                   d.received_at >= p_start and d.channel = 'postal' as postal,
                   d.received_at >= p_start and coalesce(d.digitized, false) as is_digitized,
                   d.settled_at is not null and d.settled_at < p_end as resolved,
                   d.settled_at is not null and d.settled_at < p_end and not d.without_result
                       and d.settled_at < case
                           when p_midnight is null then date_trunc('day', d.due_at, p_zone)
                           else date_bin('1 day', d.due_at, p_midnight)
                       end as resolved_early,
                   d.settled_at is not null and d.settled_at < p_end and not d.without_result
                       and d.settled_at > d.due_at as resolved_late,
                   d.settled_at is null or d.settled_at >= p_end as pending,
                   (d.settled_at is null or d.settled_at >= p_end) and d.due_at < p_overdue_at
                       as pending_overdue
            from dossier d
            where d.unit = any(p_units) and d.received_at < p_end
              and (d.settled_at is null or d.settled_at >= p_start)
        ) classified
    ) derived
$$;

-- Petitions of `p_units` in the scope of the window, as dossiers.
create function petition_figures(p_units text[], p_start timestamptz, p_end timestamptz)
returns table (
    unit text, petition_id text, received_at timestamptz, settled_at timestamptz,
    carried_over boolean, received boolean, resolved boolean, pending boolean, figures text[]
) language sql stable parallel safe as $$
    select unit, petition_id, received_at, settled_at, carried_over, received, resolved,
           not resolved,
           array_remove(array[
               case when carried_over then 'petitions.carried_over' end,
               case when received then 'petitions.received' end,
               case when resolved then 'petitions.resolved' end,
               case when not resolved then 'petitions.pending' end
           ], null)
    from (
        select p.unit, p.petition_id, p.received_at, p.settled_at,
               p.received_at < p_start as carried_over,
               p.received_at >= p_start as received,
               p.settled_at is not null and p.settled_at < p_end as resolved
        from petition p
        where p.unit = any(p_units) and p.received_at < p_end
          and (p.settled_at is null or p.settled_at >= p_start)
    ) classified
$$;

-- Documents of `p_units` signed in the window.
create function document_figures(p_units text[], p_start timestamptz, p_end timestamptz)
returns table (
    unit text, document_id text, number text, signed_at timestamptz, digital boolean,
    issued boolean, digitally_signed boolean, figures text[]
) language sql stable parallel safe as $$
    select d.unit, d.document_id, d.number, d.signed_at, d.digital, true, d.digital,
           case when d.digital then array['documents.issued', 'documents.digitally_signed']
                else array['documents.issued'] end
    from document d
    where d.unit = any(p_units) and d.signed_at >= p_start and d.signed_at < p_end
$$;

-- Articles of `p_units` published in the window.
create function article_figures(p_units text[], p_start timestamptz, p_end timestamptz)
returns table (
    unit text, article_id text, title text, published_at timestamptz, published boolean,
    figures text[]
) language sql stable parallel safe as $$
    select a.unit, a.article_id, a.title, a.published_at, true, array['articles.published']
    from article a
    where a.unit = any(p_units) and a.published_at >= p_start and a.published_at < p_end
$$;

-- The items each issued revision counted, as it counted them at its issue (SPEC §5.1): its
-- lists stay what was sent whatever arrives later. One row per item in the scope of its window
-- (for a summary, its members' items), with the figures it counted in.
create table report_item (
    report_id      bigint      not null references report (report_id) on delete cascade,
    unit           text        not null,
    kind           text        not null check (kind in ('dossier', 'petition', 'document', 'article')),
    item_id        text        not null,
    -- The procedure's code (dossiers), the document's number, the article's title.
    label          text,
    channel        text,
    received_at    timestamptz,
    due_at         timestamptz,
    settled_at     timestamptz,
    flag           boolean,      -- digitized (dossier) or digital (document)
    without_result boolean,
    figures        text[]      not null,
    primary key (report_id, kind, unit, item_id)
);

-- Whether a revision's items were kept at its issue (revisions issued before this migration
-- have figures and no lists).
alter table report add column items_kept boolean not null default false;
