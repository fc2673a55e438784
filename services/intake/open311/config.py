"""Open311's settings (environment, read once): what the discovery document says."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Open311Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPEN311_", extra="ignore", case_sensitive=False)

    # Where partner apps reach the endpoint (behind the gateway), as discovery announces it.
    public_url: str = "http://127.0.0.1:8001/open311/v2"
    endpoint_type: Literal["production", "test"] = "production"
    contact: str = "ศูนย์ดำรงธรรม กระทรวงมหาดไทย สายด่วน 1567"
    key_service: str = "หน่วยงานหรือผู้พัฒนาแอปขอ API key ได้จากผู้ดูแลระบบศูนย์ดำรงธรรม (หนึ่ง key ต่อหนึ่งช่องทาง)"


@lru_cache
def get_open311_settings() -> Open311Settings:
    return Open311Settings()
