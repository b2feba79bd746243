-- A signed revision records who signed its PDF, when, until when the certificate is valid and
-- whether the signature was time-stamped (the PDF itself is in `pdf`, signed).
alter table report add column signed_by text,
                   add column signed_at timestamptz,
                   add column signature_valid_until timestamptz,
                   add column timestamped boolean;
