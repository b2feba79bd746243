-- The workbook of each revision (SPEC §12: the national form Biểu II.06a and every figure),
-- stored beside the DOCX and the PDF and attached to every message. Revisions issued before
-- this migration have none.
alter table report add column xlsx bytea;
