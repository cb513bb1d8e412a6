"""The lab's claims hold on another CPU code path, not only on the one that wrote them.

Another machine sends the lab's pre-training down another trajectory (other kernels, another
MKL code path, another summation order). This reruns the cheapest claim-bearing lab snippet,
pre-training included, under a code path this machine does not use by default, and asserts
the claims the page states. A band too tight for another trajectory fails here, on the
developers' machine, before it fails on a reader's. The code path is part of both the run
key and the pre-training key, so the rerun is computed on that path and cached as its own.
The suite's set-up (``pytest_collection_finish`` in conftest) starts it beside the other
one-thread runs, so it uses the second core rather than running alone.
"""

from fieldguide_site.execute import run_snippet
from fieldguide.claims import assert_claims

SNIPPET = "broad_applications_fine_tuning_llms/synthetic_token_shift"  # one seed: one pre-training


def test_token_shift_claims_hold_on_another_cpu_code_path(monkeypatch, other_code_path, cpu_device):
    own = run_snippet(SNIPPET, device=cpu_device)  # CPU code paths, on a GPU machine too
    path = other_code_path
    for name, value in path.items():
        monkeypatch.setenv(name, value)
    other = run_snippet(SNIPPET, device=cpu_device)
    print(f"code path: {path}")
    assert_claims(other)
    # The rerun did take another trajectory (else this test proves nothing).
    print(f"final pre-training loss: this machine's path {own.metric('pretrain_final_loss')}, "
          f"{path}: {other.metric('pretrain_final_loss')}")
    assert other.metric("pretrain_final_loss") != own.metric("pretrain_final_loss")
