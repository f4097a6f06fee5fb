"""An unexpected exception as one line that is enough to file a bug.

A budget whose check raised something that is not a ``SizeBudgetError`` (a bug in the
plugin, in a budget kind or in a ``conftest.py`` fixture) still gets a result: an error
whose reason says what was raised and where, so that every report keeps the budget and
the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

_PACKAGE = Path(__file__).resolve().parent


def describe_exception(exc: BaseException, display: Callable[[Path], str] | None = None) -> str:
    """``<Type>: <message> (in <file>:<line> <function>[; raised at ...])``.

    ``in`` is the innermost frame of pytest_sizebudget (where our code lost control);
    ``raised at`` is the innermost frame of someone else's code (a kind's module, a
    ``conftest.py``), when the exception came from there; pytest's and pluggy's own frames
    (``pytest.fail`` raising for its caller) are passed over.  ``display`` names paths
    outside the package (default: as is).
    """
    message = str(exc).strip()
    first = message.splitlines()[0] if message else ""
    more = " ..." if len(message.splitlines()) > 1 else ""
    text = f"{type(exc).__name__}: {first}{more}" if first else type(exc).__name__
    ours, last = _frames(exc.__traceback__)
    where = []
    if ours is not None:
        where.append(f"in {_place(ours, display)}")
    if last is not None and last is not ours:
        where.append(f"raised at {_place(last, display)}")
    return f"{text} ({'; '.join(where)})" if where else text


Frame = tuple[Path, int, str]


# Frames of the test framework itself: never where a problem is.
_FRAMEWORK = frozenset({"_pytest", "pluggy"})


def _frames(tb: TracebackType | None) -> tuple[Frame | None, Frame | None]:
    """The innermost frame in this package and the innermost frame of the code that
    raised (the innermost that is not the framework's, else the innermost of all)."""
    ours: Frame | None = None
    last: Frame | None = None
    while tb is not None:
        code = tb.tb_frame.f_code
        frame = (Path(code.co_filename), tb.tb_lineno, code.co_name)
        if last is None or not _FRAMEWORK.intersection(frame[0].parts):
            last = frame
        if _is_ours(frame[0]):
            ours = frame
        tb = tb.tb_next
    return ours, last


def _is_ours(path: Path) -> bool:
    try:
        path.resolve().relative_to(_PACKAGE)
    except (ValueError, OSError):
        return False
    return True


def _place(frame: Frame, display: Callable[[Path], str] | None) -> str:
    path, line, function = frame
    if _is_ours(path):
        shown = f"pytest_sizebudget/{path.resolve().relative_to(_PACKAGE).as_posix()}"
    else:
        shown = display(path) if display is not None else path.as_posix()
    return f"{shown}:{line} {function}"


def unexpected_reason(exc: BaseException, display: Callable[[Path], str] | None = None) -> str:
    """A budget's error for an exception that is not one of our user errors.

    An ``Exception`` is a bug somewhere (``internal error``); anything else stopped the
    check from outside (``pytest.fail`` from a timeout plugin, ...).
    """
    if isinstance(exc, Exception):
        return f"internal error: {describe_exception(exc, display)}"
    return f"the check did not finish: {describe_exception(exc, display)}"
