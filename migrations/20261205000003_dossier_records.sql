-- Dossiers from the upstream systems' own records (SPEC §3.5): a record is re-sent whole on
-- every change, under the same derived event ids, and a later one updates the dossier instead
-- of conflicting with it.
alter table dossier
    -- Fed by records: its due date is the greatest any sync gave, it is digitized once any
    -- sync says so, and only a changed reception date is a conflict.
    add column from_record     boolean not null default false,
    -- Ended without a result (withdrawn by the citizen, processing stopped): resolved on time,
    -- never early or late, and counted apart.
    add column without_result  boolean not null default false,
    -- The administrative procedure's code (mã TTHC), where the source gives it.
    add column procedure_code  text,
    -- Whether the statement that last wrote the row found a second reception or resolution:
    -- read back in the same statement (RETURNING), under the row lock, to record the conflict.
    add column received_clash  boolean not null default false,
    add column resolved_clash  boolean not null default false;
