"""The containers test backend: Apache Kafka and PostgreSQL in Docker, one of each per session.

The images are the ones docker-compose.yml runs in production.  Without a reachable Docker
engine the tests that need them are skipped, saying why (never a failure: most machines
that run `make test` have no Docker); once Docker answers, any later problem (a failed
pull, a container that does not come up) is a real failure.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator

import pytest

KAFKA_IMAGE = "apache/kafka:4.3.1"
POSTGRES_IMAGE = "postgres:18.4-trixie"
STARTUP_TIMEOUT = 120  # seconds; the first run also pulls the images

# The broker must advertise the host's address and mapped port, known only once the
# container runs: its command waits for a start script that is copied in then.  The
# flag is copied after the script, so the script is complete when the shell reads it.
START_SCRIPT = "/opt/kafka/damrong-start.sh"
START_FLAG = "/opt/kafka/damrong-start.ready"
KAFKA_COMMAND = [
    "sh",
    "-c",
    f"while [ ! -f {START_FLAG} ]; do sleep 0.1; done; exec sh {START_SCRIPT}",
]
KAFKA_PORT = 9092  # clients, advertised as the host's mapped port
# One KRaft node that is broker and controller; inside the container the broker talks to
# itself on BROKER (9093) and to its controller on CONTROLLER (9094).  The image turns
# KAFKA_A_B into a.b in server.properties.
KAFKA_ENV = {
    "CLUSTER_ID": "ZGFtcm9uZy10ZXN0cy0xAA",
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_LISTENERS": f"PLAINTEXT://:{KAFKA_PORT},BROKER://:9093,CONTROLLER://:9094",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
        "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
    ),
    "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9094",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    # As in production: topics exist only when the services create them.
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    # Every test joins new groups: no 3 s wait for more members at each join.
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
}
KAFKA_READY = r"Kafka Server started|Transitioning from RECOVERY to RUNNING"
# One server for every platform of the session (embedded, each had its own): room for
# several platforms' pools at once.  Durability is not under test here.
POSTGRES_COMMAND = [
    "postgres",
    "-c",
    "max_connections=400",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
]


def docker_problem() -> str | None:
    """Why no Docker engine can be used (None when one answers a ping)."""
    try:
        from docker.errors import DockerException
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:
        return f"testcontainers is not installed ({exc}); run `make install`"
    # docker-py says "cannot connect" as its own errors or as requests' (OSErrors).
    try:
        client = DockerClient().client
    except (DockerException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        client.ping()
    except (DockerException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def skip_message(problem: str) -> str:
    return (
        f"BACKEND=containers needs a Docker engine (set DOCKER_HOST if it is not on "
        f"the default socket); none answered: {problem}"
    )


def kafka_start_script(host: str, port: int) -> bytes:
    """The broker's start script: advertise the address clients on the host reach it at."""
    advertised = f"PLAINTEXT://{host}:{port},BROKER://$(hostname):9093"
    return (
        f'export KAFKA_ADVERTISED_LISTENERS="{advertised}"\nexec /etc/kafka/docker/run\n'
    ).encode()


@contextlib.contextmanager
def _kafka() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    # One string, split back into KAFKA_COMMAND's words by docker-py (shlex).
    container = DockerContainer(KAFKA_IMAGE, env=dict(KAFKA_ENV), command=shlex.join(KAFKA_COMMAND))
    container.with_exposed_ports(KAFKA_PORT)
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(KAFKA_PORT)
        container.copy_into_container(kafka_start_script(host, port), START_SCRIPT)
        container.copy_into_container(b"", START_FLAG)
        LogMessageWaitStrategy(KAFKA_READY).with_startup_timeout(STARTUP_TIMEOUT).wait_until_ready(
            container
        )
        yield f"{host}:{port}"


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(
        POSTGRES_IMAGE, username="postgres", password="postgres", dbname="damrong", driver=None
    )
    container.with_command(POSTGRES_COMMAND)
    with container:
        yield container.get_connection_url()


@contextlib.contextmanager
def container_infra() -> Iterator[dict[str, str]]:
    """PostgreSQL and Apache Kafka containers for the duration, or a skip without Docker."""
    if problem := docker_problem():
        pytest.skip(skip_message(problem))
    with _postgres() as db, _kafka() as kafka:
        yield {"database_url": db, "kafka_bootstrap": kafka}
