"""The matching process runs numpy's BLAS on one thread (set where the app is defined, so the
service, its workers and the tests all get it; see ``matching/main.py``)."""

import importlib

from threadpoolctl import threadpool_info


def test_the_matching_app_runs_blas_on_one_thread() -> None:
    importlib.import_module("matching.main")
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == [1]
