"""Embedded runtime: PostgreSQL and the Tansu broker from wheels, and the service launcher."""

from damrong.embedded._proc import free_port
from damrong.embedded.broker import EmbeddedBroker
from damrong.embedded.platform import SERVICES, Platform, ServiceSpec
from damrong.embedded.postgres import EmbeddedPostgres

__all__ = ["SERVICES", "EmbeddedBroker", "EmbeddedPostgres", "Platform", "ServiceSpec", "free_port"]
