#!/usr/bin/env python3
"""Validates every signature of a PDF with pyHanko and prints one JSON object per signature.

Usage: validate.py TRUST_ROOT.pem FILE.pdf
Fields: intact, valid, trusted, coverage (e.g. ENTIRE_FILE), modification_level,
signer_reported_dt, sub_filter, signed_attrs and unsigned_attrs (attribute names, sorted),
and for a signature time-stamp: timestamp_intact, timestamp_valid, timestamp_trusted,
timestamp_time. Revocation is not checked (the test PKI has no CRLs).
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext



def attribute_names(attributes):
    return sorted(attribute["type"].native for attribute in attributes)


root = load_cert_from_pemder(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    reader = PdfFileReader(f)
    for signature in reader.embedded_signatures:
        context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(signature, signer_validation_context=context, ts_validation_context=context)
        result = {
            "field": signature.field_name,
            "intact": status.intact,
            "valid": status.valid,
            "trusted": status.trusted,
            "coverage": status.coverage.name,
            "modification_level": status.modification_level.name if status.modification_level else None,
            "signer_reported_dt": str(status.signer_reported_dt),
            "sub_filter": str(signature.sig_object.get("/SubFilter")),
            "signed_attrs": attribute_names(signature.signer_info["signed_attrs"]),
            "unsigned_attrs": attribute_names(signature.signer_info["unsigned_attrs"]),
        }
        ts = status.timestamp_validity
        if ts is not None:
            result.update(timestamp_intact=ts.intact, timestamp_valid=ts.valid,
                          timestamp_trusted=ts.trusted, timestamp_time=str(ts.timestamp))
        print(json.dumps(result), flush=True)
