"""``python -m sdk.simulator package.module:factory [--host H] [--port P]``: serve a simulator.

``factory`` is a ``Simulator`` subclass or any callable returning a simulator, called with no
arguments. The first line on stdout is the JSON announcement ``serve`` prints.
"""

from __future__ import annotations

import argparse
import importlib

from .app import Simulator
from .serve import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sdk.simulator", description=__doc__)
    parser.add_argument("factory", help="package.module:callable returning a Simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    module_name, _, attr = args.factory.partition(":")
    if not attr:
        parser.error("factory must look like package.module:callable")
    simulator = getattr(importlib.import_module(module_name), attr)()
    if not isinstance(simulator, Simulator):
        parser.error(f"{args.factory} returned {type(simulator).__name__}, not a Simulator")
    serve(simulator, args.host, args.port)


if __name__ == "__main__":
    main()
