"""Embedded runtime: PostgreSQL and the Tansu broker from wheels, and the service launcher."""

from shared.embedded._proc import free_port
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.platform import SERVICES, Platform, ServiceSpec
from shared.embedded.postgres import EmbeddedPostgres

__all__ = ["SERVICES", "EmbeddedBroker", "EmbeddedPostgres", "Platform", "ServiceSpec", "free_port"]
