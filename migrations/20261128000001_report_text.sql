-- What a report says beyond its figures: per-period narrative edits and the number sequence.

-- An officer's edit of one narrative field for one period: the paragraphs that replace the
-- unit's configured ones. Next period has no row, so the configured text comes back.
create table narrative_edit (
    unit        text        not null,
    period      text        not null,
    field       text        not null,
    paragraphs  text[]      not null,
    updated_at  timestamptz not null default now(),
    primary key (unit, period, field)
);

-- The last report number assigned per unit and calendar year ("Số: 103/BC-UBND").
create table report_sequence (
    unit         text not null,
    year         int  not null,
    last_number  int  not null check (last_number > 0),
    primary key (unit, year)
);
