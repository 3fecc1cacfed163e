import os

import pytest

from bazaar import runner


@pytest.fixture
def running_runner(monkeypatch):
    """A runner of this process's own, stopped at the end of the test."""
    started = runner.Runner(schedule={})
    monkeypatch.setattr(runner, "_runner", started)
    monkeypatch.setattr(runner, "_runner_pid", os.getpid())
    started.start()
    yield started
    started.stop()
