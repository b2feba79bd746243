-- Documents from the upstream systems' own formats (SPEC §3.5, §3.6): an edXML package or a
-- line of the e-office register names its document by a derived id, and the same document
-- sent again (an update, the register imported after the package arrived) updates it
-- instead of conflicting with it: digital once any version carries a signature.
alter table document
    add column from_record boolean not null default false;

-- The documents their sender recalled (an edXML package of BussinessDocType 1, stored as an
-- event of its own), counted for the dashboard without reading every event.
create index event_recall on event (unit)
    where event_type = 'document.signed' and (body -> 'source' ->> 'business') = 'recall';
