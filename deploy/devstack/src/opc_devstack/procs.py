"""Child processes that die with their parent, even if the parent is SIGKILLed."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child after any setuid, which would clear the setting if done earlier.
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


def spawn(  # call from the main thread: the kernel ties PDEATHSIG to the spawning *thread*
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    stdout: int | object = subprocess.PIPE,
    stderr: int | object = subprocess.STDOUT,
    cwd: str | None = None,
) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=env,
        user=user,
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent(stop_signal),
    )


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except ProcessLookupError:
        pass


def is_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0
