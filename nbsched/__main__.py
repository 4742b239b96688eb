"""``python -m nbsched`` (and the ``nbsched`` console script): see :mod:`nbsched._cli`."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbsched`` command; returns the exit status."""
    from ._cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
