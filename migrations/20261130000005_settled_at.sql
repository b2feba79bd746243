-- When a dossier or petition counts as resolved: its resolution, or its reception when the
-- resolution is stamped before it (a clock off upstream). The indicators compare this instant
-- several times per row; kept as a column, it is computed once per write instead of at every
-- count (on a window of a million events the dossiers' count went from about 66 to 53 ms).
alter table dossier add column settled_at timestamptz generated always as (
    case when resolved_at is not null then greatest(resolved_at, received_at) end
) stored;
alter table petition add column settled_at timestamptz generated always as (
    case when resolved_at is not null then greatest(resolved_at, received_at) end
) stored;
