"""The ConnectWise PSA sandbox (REST API v3.0): see app.py for what it serves."""

from __future__ import annotations

from app.sandbox.connectwise.app import ConnectWiseSandbox
from app.sandbox.connectwise.scenario import DEFAULT_PRODUCTS, Scenario
from app.sandbox.connectwise.store import MODULES

__all__ = ["DEFAULT_PRODUCTS", "MODULES", "ConnectWiseSandbox", "Scenario"]
