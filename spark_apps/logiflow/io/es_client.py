"""Builds the ``elasticsearch`` client from ``ElasticsearchSettings`` and checks it can connect.

Used by es-setup, the sink (on the executors), ``logiflow report`` and the tests, so TLS and
credentials are handled the same way everywhere: certificate verification is never turned off
(an ``https`` host with a private CA needs ``elasticsearch.ca_certs``).
"""

from __future__ import annotations

from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch

from logiflow.config import ElasticsearchSettings
from logiflow.errors import ConfigError, ServiceUnreachableError

# How long the start-up reachability check waits before saying "unreachable".
PING_TIMEOUT_SECONDS = 5.0


def describe_hosts(settings: ElasticsearchSettings) -> str:
    return ", ".join(settings.hosts)


def create_es_client(settings: ElasticsearchSettings, **options: Any) -> Elasticsearch:
    """A client for the configured cluster; ``options`` override the transport defaults."""
    kwargs: dict[str, Any] = {
        "hosts": list(settings.hosts),
        "request_timeout": settings.request_timeout_seconds,
        # Transport-level retries are immediate; back-off retries live in the sink. One quick
        # retry still smooths over a keep-alive connection the server just closed.
        "max_retries": 1,
        "retry_on_timeout": True,
        "verify_certs": True,
    }
    if settings.ca_certs is not None:
        if not settings.ca_certs.is_file():
            raise ConfigError(
                f"elasticsearch.ca_certs: {settings.ca_certs} does not exist or is not a file"
            )
        kwargs["ca_certs"] = str(settings.ca_certs)
    if settings.api_key is not None:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    elif settings.username is not None:
        password = settings.password.get_secret_value() if settings.password else ""
        kwargs["basic_auth"] = (settings.username, password)
    kwargs.update(options)
    return Elasticsearch(**kwargs)


def check_reachable(client: Elasticsearch, settings: ElasticsearchSettings) -> dict[str, Any]:
    """Cluster health, or a ``ServiceUnreachableError`` naming where we looked.

    ``GET /`` is not used: minimal distributions do not register it.
    """
    quick = client.options(request_timeout=PING_TIMEOUT_SECONDS, max_retries=0)
    where = describe_hosts(settings)
    try:
        return dict(quick.cluster.health().body)
    except (AuthenticationException, AuthorizationException) as exc:
        raise ConfigError(
            f"Elasticsearch at {where} rejected the credentials ({exc.status_code}): check "
            "elasticsearch.username/password or elasticsearch.api_key"
        ) from exc
    except (TransportConnectionError, ConnectionTimeout) as exc:
        raise ServiceUnreachableError(
            "Elasticsearch", where, f"{_short(exc)}; is it running? (logiflow local up starts one)"
        ) from exc
    except ApiError as exc:
        raise ServiceUnreachableError(
            "Elasticsearch", where, f"health check answered {exc.status_code}: {_short(exc)}"
        ) from exc


def connect(settings: ElasticsearchSettings, **options: Any) -> Elasticsearch:
    """``create_es_client`` followed by ``check_reachable``."""
    client = create_es_client(settings, **options)
    check_reachable(client, settings)
    return client


def _short(exc: Exception) -> str:
    # Transport errors keep the useful part ("Connection refused") in .message, not str().
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
