"""A GLM-protocol HTTP simulator for tests, benchmarks and offline demos (not a model)."""

from __future__ import annotations

from .dialects import DIALECTS
from .scenario import Scenario, ScenarioError, load_scenario
from .simulator import Simulator
from .tokens import count_tokens, tokenize

__all__ = [
    "DIALECTS",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "count_tokens",
    "load_scenario",
    "tokenize",
]
