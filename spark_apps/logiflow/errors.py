"""LogiFlow's own exceptions: each message says what went wrong and what to do about it.

The CLI turns any ``LogiflowError`` into a one-line message on stderr and a non-zero exit code,
so these messages are what users read.
"""


class LogiflowError(Exception):
    """Base class for every error LogiFlow raises on purpose."""

    exit_code = 1


class ConfigError(LogiflowError):
    """The configuration is invalid: a bad value, an unknown key, an unreadable file."""

    exit_code = 2


class ServiceUnreachableError(LogiflowError):
    """A service (Kafka, Elasticsearch) could not be reached at the configured address."""

    exit_code = 3

    def __init__(self, service: str, address: str, detail: str = "") -> None:
        self.service = service
        self.address = address
        message = f"{service} is unreachable at {address}"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class DeliveryError(LogiflowError):
    """Records were not acknowledged by Kafka (or not accepted); nothing past them is committed."""

    exit_code = 6


class ArtifactError(LogiflowError):
    """A server or connector artifact could not be fetched or failed its checksum."""

    exit_code = 4


class LogFormatError(ConfigError):
    """A user-supplied nginx ``log_format`` or Apache ``LogFormat`` string cannot be compiled."""
