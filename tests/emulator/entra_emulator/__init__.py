"""Local stand-in for Microsoft Entra sign-in and the Microsoft Graph synchronization API (test only)."""

from .process import ControlClient, EmulatorError, EmulatorProcess, running, start_detached, stop_detached
from .seed import load_seed

__all__ = ["ControlClient", "EmulatorError", "EmulatorProcess", "load_seed", "running", "start_detached",
           "stop_detached"]
