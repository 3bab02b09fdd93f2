"""What a LogiFlow record in Kafka carries besides its value: the key and the headers.

Writers (``logiflow ship``, ``logiflow generate``, the ETL's dead-letter sink) and readers (the
ETL's source, ``logiflow replay-dead-letters``) import these, so neither re-derives the other's
format.

Logs topic: the key is ``<host>/<service>`` (host names carry no "/", so the first one separates
the two); headers name the host, the service and, for files, the path read, and give the line's
source identity.

Source identity (header ``logiflow.source.id``): where the line came from, in a form that stays
the same when the line is sent again, so the ETL can name its document after it and a resend
overwrites instead of duplicating (``etl.decode_records``):

- a file's line: ``file:<head>:<offset>``, where ``<offset>`` is the byte offset of the line's
  start and ``<head>`` the first 32 hex digits of the SHA-256 of the file's first
  ``min(1024, end of the line)`` bytes. Both are fixed once the line is written and survive
  rotation by rename, copytruncate and compression (offsets of a ``.gz`` file count in its
  uncompressed stream), unlike the inode or the path.
- a stream's line (stdin, ``logiflow generate``): ``run:<run id>:<sequence>``, a random id per
  run and the line's number in it. A stream cannot be read again, so a new run has a new id.

Records without the header (Fluent Bit, kcat, a replay of dead letters) keep the Kafka-coordinate
document id.

Dead-letter topic: the value is the rejected line's bytes, the key the original key, and the
headers say why and where the line came from. Header values are UTF-8 text.
"""

from __future__ import annotations

import hashlib

KEY_SEPARATOR = "/"
# A regular expression (Java and Python alike) whose groups 1 and 2 are host and service.
KEY_PATTERN = r"^([^/]*)/(.*)$"

HEADER_HOST = "logiflow.host"
HEADER_SERVICE = "logiflow.service"
HEADER_PATH = "log.file.path"
HEADER_SOURCE_ID = "logiflow.source.id"
# 128 bits of the file head's digest: no two files' heads collide in practice.
SOURCE_DIGEST_CHARS = 32
# Set by the shipper on a line too long for Kafka: the record holds only the line's first
# ship.max_line_bytes, this header the whole line's length (the line itself is in the shipper's
# reject file). The ETL dead-letters such records with that reason.
HEADER_TRUNCATED_FROM_BYTES = "logiflow.truncated.from_bytes"

# Dead-letter records.
HEADER_ERROR_MESSAGE = "logiflow.error.message"
HEADER_SOURCE_TOPIC = "logiflow.source.topic"
HEADER_SOURCE_PARTITION = "logiflow.source.partition"
HEADER_SOURCE_OFFSET = "logiflow.source.offset"


def record_key(host: str, service: str) -> bytes:
    """The key of a record of the logs topic."""
    return f"{host}{KEY_SEPARATOR}{service}".encode()


def file_source_id(head_digest: str, offset: int) -> bytes:
    """The source identity of the line starting at ``offset`` of a file (see the module doc)."""
    return f"file:{head_digest[:SOURCE_DIGEST_CHARS]}:{offset}".encode()


def stream_source_id(run_id: str, sequence: int) -> bytes:
    """The source identity of the ``sequence``-th line of a stream read by run ``run_id``."""
    return f"run:{run_id}:{sequence}".encode()


# Hex digits of the SHA-256 kept in a source-identity document id: 128 bits, short in every index.
SOURCE_ID_HEX_DIGITS = 32


def source_document_id(topic: str, key: str | None, source_id: str) -> str:
    """The ``_id`` of the document of a record that carries a source identity.

    The ETL computes it in Spark (``etl/decode_records.py``); ``logiflow audit`` computes it
    here from the records it reads back. The topic and key (host/service) are in the hash too:
    two hosts may hold identical files. A unit test holds both equal.
    """
    text = "|".join(part for part in (topic, key, source_id) if part is not None)
    return hashlib.sha256(text.encode()).hexdigest()[:SOURCE_ID_HEX_DIGITS]
