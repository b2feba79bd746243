-- Counting a window's documents reads only this index (an index-only scan once autovacuum has
-- marked the pages visible): documents are never updated, so the heap need not be read.
create index document_unit_signed_at_digital on document (unit, signed_at) include (digital);
drop index document_unit_signed_at;
