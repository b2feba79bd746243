-- The pipeline view counts every unit's orphans (resolved items whose received event has not
-- come) in one statement; these partial indexes hold only those rows, so the count reads a few
-- entries instead of every petition and dossier.
create index petition_orphan on petition (unit) where received_at is null;
create index dossier_orphan on dossier (unit) where received_at is null;
