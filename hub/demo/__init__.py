"""``kpihub demo``: the whole product offline, on loopback simulators, in under a minute.

``run_demo(workdir, seed)`` builds a seeded seller (``world``), serves it from the Amazon,
Shopee, TikTok Shop and Mabang simulators (``platforms``), connects, syncs, computes,
manages (targets, scorecards, alerts to a local ``receiver``) and pushes to three sinks
(``run``); ``report`` prints what came out.
"""

from __future__ import annotations

from .run import DemoResult, DemoUI, run_demo, settings_for
from .world import FULL, SMALL, Size

__all__ = ["FULL", "SMALL", "DemoResult", "DemoUI", "Size", "run_demo", "settings_for"]
