"""``make kernel`` (which ``make lab`` runs): a Jupyter kernel that carries the book's
environment, so a chapter run by hand computes what the book computed."""

import json
import os
import subprocess
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).parents[1]


def test_the_lateint_kernel_carries_the_data_folder_and_the_cpu_pin(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(
        ["make", "-s", "kernel", f"KERNEL_PREFIX={tmp_path}", f"LATEINT_DATA={data}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    kernels = tmp_path / "share" / "jupyter" / "kernels"
    spec = json.loads((kernels / "lateint" / "kernel.json").read_text())
    pin = os.environ.get("ATEN_CPU_CAPABILITY", "avx2")
    assert spec["env"]["LATEINT_DATA"] == str(data) and spec["env"]["ATEN_CPU_CAPABILITY"] == pin
    assert str(data) in spec["display_name"]

    manager = KernelManager(
        kernel_name="lateint", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    manager.start_kernel(
        env={k: v for k, v in os.environ.items() if k not in ("LATEINT_DATA", "ATEN_CPU_CAPABILITY")}
    )
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        code = "import os, lateint.data as d; print(os.environ['ATEN_CPU_CAPABILITY'], d.data_dir())"
        client.execute(code)
        printed = ""
        while True:
            message = client.get_iopub_msg(timeout=60)
            if message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            if (
                message["msg_type"] == "status"
                and message["content"]["execution_state"] == "idle"
                and printed
            ):
                break
        assert printed.split() == [pin, str(data)]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_pages_workflow_installs_torchs_cpu_build_of_the_pinned_version():
    import tomllib

    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    index = workflow["jobs"]["build"]["env"]["TORCH_INDEX"]
    assert index == "https://download.pytorch.org/whl/cpu"
    pin = next(
        d
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
        if d.startswith("torch")
    )
    # what `make setup` runs there, in order: torch from that index first, then the rest
    plan = subprocess.run(
        ["make", "-n", "-B", "setup", f"TORCH_INDEX={index}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    torch_step = next(i for i, line in enumerate(plan) if f"{pin} --index-url {index}" in line)
    extras_step = next(i for i, line in enumerate(plan) if '-e ".[book,test]"' in line)
    assert torch_step < extras_step
    steps = [step.get("run", "") for step in workflow["jobs"]["build"]["steps"]]
    # the book builds in that .venv: setup runs before the build
    assert steps.index(next(r for r in steps if "make setup" in r)) < steps.index("make book")
