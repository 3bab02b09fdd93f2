"""A real Kafka broker secured the way the chart's Strimzi cluster is: TLS + SCRAM-SHA-512 + ACLs.

The broker has two client listeners: ``SASL_SSL`` (a certificate signed by a CA made here, SCRAM
users, the standard authorizer) for the code under test, and ``PLAINTEXT`` on loopback whose
anonymous principal is a super user, for the test's own set-up and read-back (topics, ACLs,
reading the dead-letter topic). Users and ACLs are not invented here: the caller passes the
KafkaUsers the chart renders, and ``apply_acls`` turns their ``spec.authorization.acls`` into
the same bindings Strimzi's User Operator would create.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rich.console import Console

from logiflow.config import LocalSettings
from logiflow.local.kafka_server import KafkaServer, kafka_ready
from logiflow.local.process import free_port

LOOPBACK = "127.0.0.1"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_certificates(directory: Path) -> tuple[Path, Path]:
    """A CA (``ca.crt``) and a broker key + certificate for 127.0.0.1 (``broker.pem``)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("logiflow-test-ca"))
        .issuer_name(_name("logiflow-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        # Both clients verify the host name by default: the certificate names the address.
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.crt"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the certificate chain.
    broker_path = directory / "broker.pem"
    broker_path.write_bytes(
        broker_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + broker_cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return ca_path, broker_path


@dataclass
class SecuredKafka:
    server: KafkaServer
    secure_bootstrap: str
    plain_bootstrap: str
    ca_file: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.plain_bootstrap})


def start_secured_kafka(
    state_dir: Path, users: list[str], *, timeout: float = 120.0
) -> SecuredKafka:
    """Start the broker with a SCRAM-SHA-512 credential (random password) per user."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ca_file, broker_pem = write_certificates(state_dir)
    settings = LocalSettings(
        state_dir=state_dir,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap="256m",
    )
    secure_port = free_port()
    passwords = {user: secrets.token_urlsafe(16) for user in users}
    listener = "listener.name.sasl_ssl"
    server = KafkaServer(
        settings,
        Console(stderr=True),
        extra_properties={
            "listeners": f"PLAINTEXT://{LOOPBACK}:{settings.kafka_port},"
            f"SASL_SSL://{LOOPBACK}:{secure_port},"
            f"CONTROLLER://{LOOPBACK}:{settings.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{settings.kafka_port},"
            f"SASL_SSL://{LOOPBACK}:{secure_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,"
            "CONTROLLER:PLAINTEXT",
            f"{listener}.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            f"{listener}.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            f"{listener}.ssl.keystore.type": "PEM",
            f"{listener}.ssl.keystore.location": str(broker_pem),
            # Strimzi's "simple" authorization on KRaft.
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # The loopback PLAINTEXT and controller listeners: the test's own admin access.
            "super.users": "User:ANONYMOUS",
        },
        scram_users=passwords,
    )
    server.launch(foreground=True)
    deadline = time.monotonic() + timeout
    plain = f"{LOOPBACK}:{settings.kafka_port}"
    while not kafka_ready(plain, timeout=2.0):
        if time.monotonic() > deadline:
            server.stop(grace=5)
            raise AssertionError(f"secured Kafka did not start; log:\n{server.log_file}")
        time.sleep(1.0)
    return SecuredKafka(server, f"{LOOPBACK}:{secure_port}", plain, ca_file, passwords)


_RESOURCE_TYPES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP,
                   "cluster": ResourceType.BROKER}  # fmt: skip
_PATTERNS = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}


def acl_bindings(kafka_user: dict[str, Any]) -> list[AclBinding]:
    """The bindings Strimzi creates for a KafkaUser's ``simple`` authorization."""
    principal = f"User:{kafka_user['metadata']['name']}"
    bindings = []
    for acl in kafka_user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        name = resource.get("name", "kafka-cluster")
        pattern = _PATTERNS[resource.get("patternType", "literal")]
        for operation in acl["operations"]:
            bindings.append(
                AclBinding(
                    _RESOURCE_TYPES[resource["type"]],
                    name,
                    pattern,
                    principal,
                    acl.get("host", "*"),
                    AclOperation[operation.upper()],
                    AclPermissionType[acl.get("type", "allow").upper()],
                )
            )
    return bindings


def apply_acls(admin: AdminClient, kafka_users: list[dict[str, Any]]) -> None:
    bindings = [binding for user in kafka_users for binding in acl_bindings(user)]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)
