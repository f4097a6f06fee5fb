"""A budget run exempts what exists once it is configured from the cyclic collector, and
nothing else changes: what tests make is still collected, unraisable exceptions are
still reported, and an in-process run leaves nothing frozen."""

from __future__ import annotations

import gc

import pytest

FREEZE_PROBE = """
import gc

def test_probe():
    with open("frozen.txt", "w") as out:
        out.write(str(gc.get_freeze_count()))
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_frozen_only_while_a_budget_run_lasts(pytester: pytest.Pytester, enabled: bool) -> None:
    pytester.makepyfile(test_probe=FREEZE_PROBE)
    assert gc.get_freeze_count() == 0
    result = pytester.inline_run(*(["--sizebudget"] if enabled else []), "test_probe.py")
    result.assertoutcome(passed=1)
    frozen = int((pytester.path / "frozen.txt").read_text())
    assert (frozen > 0) is enabled
    assert gc.get_freeze_count() == 0  # released with the run's config


def test_garbage_made_by_tests_is_still_collected(pytester: pytest.Pytester) -> None:
    """pytest's collections at cleanup still find a cycle a test left behind and report
    the exception its finalizer raised (a subprocess: pytester turns them off in-process;
    automatic collection off, so that only those collections can find it)."""
    pytester.makepyfile(
        test_cycle="""
        import gc

        gc.disable()

        class Cycle:
            def __init__(self):
                self.me = self

            def __del__(self):
                raise ValueError("finalizer of a cycle")

        def test_leaves_a_cycle():
            Cycle()
        """
    )
    result = pytester.runpytest_subprocess("--sizebudget", "-W", "default", "test_cycle.py")
    shown = "\n".join(result.outlines + result.errlines)
    assert "PytestUnraisableExceptionWarning" in shown
    assert "ValueError: finalizer of a cycle" in shown


def test_a_process_that_turned_collection_off_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_probe=FREEZE_PROBE)
    gc.disable()
    try:
        pytester.inline_run("--sizebudget", "test_probe.py").assertoutcome(passed=1)
    finally:
        gc.enable()
    assert (pytester.path / "frozen.txt").read_text() == "0"


def test_objects_frozen_by_someone_else_stay_frozen(pytester: pytest.Pytester) -> None:
    """A process that froze objects itself (before forking workers, say), or an outer
    budget run, keeps them frozen: the run neither freezes more nor unfreezes them."""
    pytester.makepyfile(test_probe=FREEZE_PROBE)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        pytester.inline_run("--sizebudget", "test_probe.py").assertoutcome(passed=1)
        # Frozen objects can still be freed by their reference counts: fewer, not more.
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
    assert int((pytester.path / "frozen.txt").read_text()) <= frozen  # none added


def test_released_when_another_main_loop_answers(pytester: pytest.Pytester) -> None:
    """``--fixtures`` configures the run and answers instead of the test loop: the
    freeze is still released."""
    result = pytester.inline_run("--sizebudget", "--fixtures")
    assert result.ret == 0
    assert gc.get_freeze_count() == 0
