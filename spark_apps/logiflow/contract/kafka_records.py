"""What a LogiFlow record in Kafka carries besides its value: the key and the headers.

Writers (``logiflow ship``, ``logiflow generate``, the ETL's dead-letter sink) and readers (the
ETL's source, ``logiflow replay-dead-letters``) import these, so neither re-derives the other's
format.

Logs topic: the key is ``<host>/<service>`` (host names carry no "/", so the first one separates
the two); headers name the host, the service and, for files, the path read.

Dead-letter topic: the value is the rejected line's bytes, the key the original key, and the
headers say why and where the line came from. Header values are UTF-8 text.
"""

from __future__ import annotations

KEY_SEPARATOR = "/"
# A regular expression (Java and Python alike) whose groups 1 and 2 are host and service.
KEY_PATTERN = r"^([^/]*)/(.*)$"

HEADER_HOST = "logiflow.host"
HEADER_SERVICE = "logiflow.service"
HEADER_PATH = "log.file.path"
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
