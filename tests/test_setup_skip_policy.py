"""The suite's skip policy (tests/conftest.py): the skip count is printed, and a skip for
anything but absent hardware fails the session. Checked on tiny throwaway suites run by a
real pytest in a subprocess, with this repository's hooks in their conftest."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, is_hardware_skip, skips_enforced

CONFTEST = "from tests.conftest import pytest_configure  # the suite's skip policy\n"


def run_suite(tmp_path: Path, source: str, ok: bool = True, files: dict[str, str] = {},
              **env: str) -> subprocess.CompletedProcess:
    """pytest on test_it.py (source) and files beside test_ok.py (one passing test, when ok),
    in a new folder under tmp_path."""
    tmp_path = tmp_path / f"suite{len(list(tmp_path.iterdir()))}"
    tmp_path.mkdir()
    (tmp_path / "conftest.py").write_text(CONFTEST)
    if ok:
        (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    for name, text in {"test_it.py": source, **files}.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "GPTSCOPE_ALLOW_SKIPS",
                                                             "PYTEST_ADDOPTS")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-q", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          env={**base, "PYTHONPATH": str(ROOT), **env}, timeout=120)
    return proc


def test_hardware_reasons():
    for reason in ("needs a CUDA GPU", "no GPU", "needs 2 GPUs", "MPS not available",
                   "NCCL needs CUDA devices", "cuda unavailable"):
        assert is_hardware_skip(reason), reason
    for reason in ("needs /usr/bin/chromium", "real-log samples not found",
                   "could not import 'playwright'", "parser nanogpt not available yet",
                   "got empty parameter set ['path']", "slow", "needs the gpustat package"):
        assert not is_hardware_skip(reason), reason


def test_enforced_always_unless_allowed_outside_ci():
    assert skips_enforced({})
    assert skips_enforced({"CI": "true"})
    assert not skips_enforced({"GPTSCOPE_ALLOW_SKIPS": "1"})
    assert skips_enforced({"GPTSCOPE_ALLOW_SKIPS": "1", "CI": "true"})
    assert skips_enforced({"GPTSCOPE_ALLOW_SKIPS": "0"})
    assert not skips_enforced({"GPTSCOPE_ALLOW_SKIPS": "1", "CI": "false"})


def test_a_gpu_skip_is_counted_and_allowed(tmp_path):
    proc = run_suite(tmp_path, """
        import pytest

        @pytest.mark.skipif(True, reason="needs a CUDA GPU")
        def test_on_gpu():
            pass

        @pytest.mark.xfail(reason="known", strict=True)
        def test_xfail():
            assert False
    """, CI="true")
    assert proc.returncode == 0, proc.stdout
    assert "skipped: 1 test(s), 1 for absent hardware, 0 for other reasons" in proc.stdout


OTHER_SKIPS = {
    "test_skipif.py": """
        import pytest
        from pathlib import Path

        @pytest.mark.skipif(not Path("/no/such/chromium").exists(), reason="needs chromium")
        def test_browser():
            pass
    """,
    "test_skip_call.py": """
        import pytest

        def test_data():
            pytest.skip("real-log samples not found")
    """,
    "test_importorskip.py": """
        import pytest
        pytest.importorskip("gptscope_no_such_module")

        def test_never_collected():
            pass
    """,
    "test_empty_parametrize.py": """
        import pytest

        @pytest.mark.parametrize("path", [])
        def test_each_file(path):
            pass
    """,
}


def test_any_other_skip_fails_the_session(tmp_path):
    proc = run_suite(tmp_path, "", files=OTHER_SKIPS)
    assert proc.returncode == 1, proc.stdout
    assert "skipped: 4 test(s), 0 for absent hardware, 4 for other reasons" in proc.stdout
    assert "skip policy: 4 test(s) skipped for other reasons than absent hardware; " \
           "the run fails" in proc.stdout
    for shown in ("test_skipif.py::test_browser: needs chromium",
                  "test_skip_call.py::test_data: real-log samples not found",
                  "test_importorskip.py: could not import 'gptscope_no_such_module'",
                  "test_empty_parametrize.py::test_each_file[NOTSET]: got empty parameter set"):
        assert shown in proc.stdout, proc.stdout


def test_a_developer_may_allow_other_skips_outside_ci(tmp_path):
    body = "import pytest\n\ndef test_data():\n    pytest.skip('no data')\n"
    proc = run_suite(tmp_path, body, GPTSCOPE_ALLOW_SKIPS="1")
    assert proc.returncode == 0 and "allowed here by GPTSCOPE_ALLOW_SKIPS=1" in proc.stdout
    assert run_suite(tmp_path, body, GPTSCOPE_ALLOW_SKIPS="1", CI="true").returncode == 1


def test_failures_and_empty_suites_keep_their_exit_status(tmp_path):
    assert run_suite(tmp_path, "def test_bad():\n    assert False\n").returncode == 1
    proc = run_suite(tmp_path, "x = 1\n", ok=False)
    assert proc.returncode == 5  # pytest's "no tests collected": never turned into success
    assert "skipped: 0 test(s)" in proc.stdout
