"""Reads .eml files with Python's email package, as a mail client would, and prints what each
holds as one JSON list: headers decoded, the text and HTML bodies, the attachments' names,
types, first bytes and SHA-256.

Usage: read.py FILE...
"""

import hashlib
import json
import sys
from email import policy
from email.parser import BytesParser


def read(path):
    with open(path, "rb") as f:
        message = BytesParser(policy=policy.default).parse(f)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            parts.append({"multipart": part.get_content_type()})
            continue
        content = part.get_content()
        entry = {"type": part.get_content_type(), "filename": part.get_filename()}
        if isinstance(content, str):
            entry["text"] = content
        else:
            entry["size"] = len(content)
            entry["head"] = content[:5].decode("latin-1")
            entry["sha256"] = hashlib.sha256(content).hexdigest()
        parts.append(entry)
    return {
        "file": path,
        "subject": str(message["subject"]),
        "from": str(message["from"]),
        "to": str(message["to"]),
        "message_id": str(message["message-id"]),
        "parts": parts,
    }


print(json.dumps([read(path) for path in sys.argv[1:]], ensure_ascii=False))
