"""Running the book on your machine: ``make kernel`` (which ``make lab`` runs) gives a
Jupyter kernel that carries the book's environment; JupyterLab runs chapter 2 with it
and its explorer answers a new query; the Pages workflow installs torch's CPU build."""

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_site  # noqa: E402  (the site check's Chromium and its flags)


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


def test_jupyterlab_runs_chapter_2_and_its_explorer_follows_a_new_query(tmp_path, shipped):
    """JupyterLab, in headless Chromium, opens chapter 2 with the `lateint` kernel and runs
    every cell on the built-in collection; then a new query typed into the explorer must
    redraw the heatmap with that query's tokens as its rows."""
    import socket
    import time
    import urllib.request

    from playwright.sync_api import sync_playwright

    subprocess.run(
        ["make", "-s", "kernel", f"KERNEL_PREFIX={tmp_path}", "LATEINT_DATA="],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    root = tmp_path / "root"
    (root / "book").mkdir(parents=True)
    chapter = json.loads((ROOT / "book" / "02_mechanism.ipynb").read_text())
    chapter["metadata"]["kernelspec"] = {"name": "lateint", "display_name": "lateint", "language": "python"}
    (root / "book" / "02_mechanism.ipynb").write_text(json.dumps(chapter))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "lateint-test"
    env = {
        **os.environ,
        "JUPYTER_PATH": str(tmp_path / "share" / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    jupyter = Path(sys.executable).with_name("jupyter")
    server = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "--no-browser",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True",
            "--allow-root",  # CI runs as root
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "lab.log", "w"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}"
    query = "tidal forces raise the tides of the ocean"
    want = shipped.tokens(shipped.tokenize_queries([query])["input_ids"][0])
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=check_site.chromium(), args=check_site.CHROMIUM_FLAGS)
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(f"{base}/lab/tree/book/02_mechanism.ipynb?reset&token={token}")
            tab.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel",
                timeout=120_000,
            )
            tab.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            tab.wait_for_selector(".lx[data-query]", timeout=300_000)
            tab.fill(".lx-query", query)
            tab.click(".lx button[type=submit]")
            tab.wait_for_function(
                "q => document.querySelector('.lx').dataset.query === q", arg=query, timeout=60_000
            )
            rows = [t.text_content() for t in tab.query_selector_all(".lx-row")]
            explorer = tab.query_selector(".lx")
            explorer.scroll_into_view_if_needed()
            shots = ROOT / "_build" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(shots / "jupyterlab-explorer.png"))
            kernel = tab.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert kernel == "lateint"
    assert rows == want


def test_a_chapters_first_cell_installs_lateint_beside_the_torch_already_there(tmp_path):
    """Colab's case, offline: a Python with torch (and the rest) but without lateint runs a
    chapter's first cell, which installs lateint from $LATEINT_SOURCE (here this checkout)
    and reinstalls none of what was there."""
    import shutil
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # what is "already there": this environment's packages, seen through a path entry, so
    # that its editable lateint (a .pth of its own) is not
    (site / "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cell = "".join(json.loads((ROOT / "book" / "02_mechanism.ipynb").read_text())["cells"][1]["source"])
    source = tmp_path / "source"  # the package's files alone: pip builds inside the folder it gets
    shutil.copytree(ROOT / "lateint", source / "lateint", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    env = {**os.environ, "LATEINT_SOURCE": str(source), "LATEINT_DATA": str(tmp_path), "PIP_NO_INPUT": "1"}
    work = tmp_path / "book"
    work.mkdir()
    probe = "import importlib.util as u; print(u.find_spec('lateint'))"
    before = subprocess.run(
        [python, "-c", probe], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    assert before.stdout.strip() == "None"
    subprocess.run([python, "-c", cell], cwd=work, env=env, check=True, capture_output=True)
    where = "import lateint, torch; print(lateint.__file__); print(torch.__file__)"
    after = subprocess.run(
        [python, "-c", where], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    lateint_file, torch_file = after.stdout.split()
    assert lateint_file.startswith(str(site))  # installed into the new environment
    assert torch_file.startswith(sysconfig.get_paths()["purelib"])  # the torch that was there
    assert not list(site.glob("torch*"))  # and no second one
