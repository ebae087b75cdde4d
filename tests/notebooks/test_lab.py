"""``liveexec lab``: a real JupyterLab server, driven through its REST and kernel websocket API the
way JupyterLab's front end drives it (contents as jupytext serves them, a session, the kernel's
channels), running 01_explore on the bundled data in the kernel the command set up."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect
from typer.testing import CliRunner

import liveexec
from liveexec.cli._app import app
from liveexec.cli._lab import NOTEBOOKS_DIR, prepare_working_copy
from liveexec.config import load_config
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

pytestmark = pytest.mark.slow

TOKEN = "liveexec-lab-test-token"
LIVEEXEC = Path(sys.executable).parent / "liveexec"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Lab:
    """A browser's view of the server: token-authenticated REST calls and kernel channels."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.ws_base = f"ws://127.0.0.1:{port}"
        self.headers = {"Authorization": f"token {TOKEN}"}
        self.http = AsyncHTTPClient()

    async def call(self, method: str, path: str, body: object | None = None) -> Any:
        request = HTTPRequest(
            self.base + path,
            method=method,
            headers=self.headers,
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=60,
        )
        response = await self.http.fetch(request)
        return json.loads(response.body) if response.body else None

    async def execute(self, kernel_id: str, cells: list[str]) -> list[list[dict[str, Any]]]:
        """Run ``cells`` in order over the kernel's channels websocket; each cell's iopub
        outputs (streams, display data, results, errors)."""
        session = uuid.uuid4().hex
        ws = await websocket_connect(
            HTTPRequest(
                f"{self.ws_base}/api/kernels/{kernel_id}/channels?session_id={session}",
                headers=self.headers,
            )
        )
        results: list[list[dict[str, Any]]] = []
        try:
            for code in cells:
                msg_id = uuid.uuid4().hex
                ws.write_message(
                    json.dumps(
                        {
                            "header": {
                                "msg_id": msg_id,
                                "msg_type": "execute_request",
                                "session": session,
                                "username": "test",
                                "version": "5.3",
                            },
                            "parent_header": {},
                            "metadata": {},
                            "content": {
                                "code": code,
                                "silent": False,
                                "store_history": True,
                                "user_expressions": {},
                                "allow_stdin": False,
                                "stop_on_error": True,
                            },
                            "channel": "shell",
                            "buffers": [],
                        }
                    )
                )
                outputs: list[dict[str, Any]] = []
                reply: dict[str, Any] | None = None
                idle = False
                while reply is None or not idle:
                    raw = await asyncio.wait_for(ws.read_message(), timeout=300)
                    assert isinstance(raw, str), "the kernel's channels closed"
                    msg = json.loads(raw)
                    if msg.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind = msg["msg_type"]
                    if msg["channel"] == "shell" and kind == "execute_reply":
                        reply = msg["content"]
                    elif kind == "status":
                        idle = msg["content"]["execution_state"] == "idle"
                    elif kind in ("stream", "display_data", "execute_result", "error"):
                        outputs.append({"output_type": kind, **msg["content"]})
                assert reply["status"] == "ok", (code, outputs)
                results.append(outputs)
        finally:
            ws.close()
        return results


def text_of(outputs: list[dict[str, Any]]) -> str:
    parts = []
    for out in outputs:
        parts.append(str(out.get("text", "")))
        for kind in ("text/plain", "text/html"):
            parts.append(str(out.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def lab_env(tmp_path: Path) -> dict[str, str]:
    """LIVEEXEC_HOME, the catalog and Jupyter's per-user folders in tmp_path; the user's own
    Jupyter data folder holds a ``python3`` kernelspec for another interpreter, which the
    server started by `liveexec lab` must not use nor change."""
    env = dict(os.environ)
    env.update(
        LIVEEXEC_HOME=str(tmp_path / "home"),
        LIVEEXEC_CATALOG=str(tmp_path / "catalog"),
        JUPYTER_TOKEN=TOKEN,
        JUPYTER_CONFIG_DIR=str(tmp_path / "user-jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "user-jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        # The user's folders before the environment's (as for a `pip install --user`): plain
        # `jupyter lab` would then start the user's python3 kernel below.
        JUPYTER_PREFER_ENV_PATH="0",
    )
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    decoy = tmp_path / "user-jupyter-data" / "kernels" / "python3" / "kernel.json"
    decoy.parent.mkdir(parents=True)
    decoy.write_text(
        json.dumps(
            {"argv": ["/nonexistent/python", "-f", "{connection_file}"], "language": "python"}
        )
    )
    return env


def test_lab_runs_01_explore_through_the_server_api(
    lab_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEEXEC_CATALOG", lab_env["LIVEEXEC_CATALOG"])
    cfg = load_config(EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml")
    prepare_demo_catalog(cfg)
    packaged = {path.name: sha256(path) for path in NOTEBOOKS_DIR.glob("*.py")}
    decoy = Path(lab_env["JUPYTER_DATA_DIR"]) / "kernels" / "python3" / "kernel.json"
    decoy_before = decoy.read_text()
    port = free_port()
    workdir = Path(lab_env["LIVEEXEC_HOME"]) / "notebooks"
    server = subprocess.Popen(
        [str(LIVEEXEC), "lab", "--port", str(port), "--no-browser"],
        env=lab_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        async def scenario() -> dict[str, Any]:
            lab = Lab(port)
            deadline = time.monotonic() + 90
            while True:  # the server is up when its status answers
                assert server.poll() is None, "liveexec lab exited early"
                try:
                    await lab.call("GET", "/api/status")
                    break
                except (ConnectionError, HTTPClientError, OSError):
                    assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
                    await asyncio.sleep(0.5)
            found: dict[str, Any] = {}
            found["kernelspecs"] = await lab.call("GET", "/api/kernelspecs")
            found["viewers"] = await lab.call(
                "GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin"
            )
            listing = await lab.call("GET", "/api/contents/")
            found["listing"] = {item["name"]: item["type"] for item in listing["content"]}
            # JupyterLab's "Jupytext Notebook" view asks for the .py file as a notebook.
            model = await lab.call("GET", "/api/contents/01_explore.py?type=notebook&content=1")
            found["model"] = model
            session = await lab.call(
                "POST",
                "/api/sessions",
                {
                    "path": "01_explore.py",
                    "name": "01_explore.py",
                    "type": "notebook",
                    "kernel": {"name": "python3"},
                },
            )
            kernel_id = session["kernel"]["id"]
            probe, *_ = await lab.execute(
                kernel_id,
                [
                    "import os, sys, liveexec\n"
                    "print(os.getpid(), sys.prefix, liveexec.__file__, os.getcwd(), sep='\\n')"
                ],
            )
            found["probe"] = text_of(probe).split("\n")
            cells = [cell for cell in model["content"]["cells"] if cell["cell_type"] == "code"]
            outputs = await lab.execute(kernel_id, [cell["source"] for cell in cells])
            found["outputs"] = outputs
            # Saved as JupyterLab saves (outputs included): jupytext writes the percent text.
            for cell, out in zip(cells, outputs, strict=True):
                cell["outputs"] = [
                    {
                        "output_type": o["output_type"],
                        **(
                            {"name": o["name"], "text": o["text"]}
                            if o["output_type"] == "stream"
                            else {"data": o.get("data", {}), "metadata": {}}
                        ),
                    }
                    for o in out
                    if o["output_type"] != "error"
                ]
                for o in cell["outputs"]:
                    if o["output_type"] == "execute_result":
                        o["execution_count"] = None
            await lab.call(
                "PUT",
                "/api/contents/01_explore.py",
                {"type": "notebook", "format": "json", "content": model["content"]},
            )
            await lab.call("POST", "/api/shutdown")
            return found

        found = asyncio.run(scenario())
        log, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
    assert server.returncode == 0, log

    # The kernel the notebooks ask for runs this interpreter, and the user's own python3
    # kernelspec was neither used nor changed.
    specs = found["kernelspecs"]
    assert specs["default"] == "python3"
    spec = specs["kernelspecs"]["python3"]
    assert spec["spec"]["argv"][0] == sys.executable
    assert spec["spec"]["display_name"] == "Python 3 (liveexec)"
    assert decoy.read_text() == decoy_before
    assert not any(Path(lab_env["JUPYTER_CONFIG_DIR"]).rglob("*.json"))
    # .py files open with jupytext's notebook view; the notebooks are served as notebooks.
    # (A default: JupyterLab's front end reads it from the schema the server sends.)
    viewers = found["viewers"]["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers["python"] == "Jupytext Notebook"
    assert found["listing"]["01_explore.py"] == "notebook"
    assert set(packaged) <= set(found["listing"])
    model = found["model"]
    assert model["type"] == "notebook" and model["format"] == "json"
    parameters = [
        c for c in model["content"]["cells"] if "parameters" in c["metadata"].get("tags", [])
    ]
    assert len(parameters) == 1
    # The kernel: this environment's liveexec, started in the working copy.
    kernel_pid, prefix, module, cwd = found["probe"][:4]
    assert prefix == sys.prefix
    assert Path(module).resolve() == Path(liveexec.__file__).resolve()
    assert Path(cwd) == workdir
    # 01_explore ran on the bundled BTC perpetual bars, with its default parameters.
    outputs = found["outputs"]
    text = "\n".join(text_of(cell) for cell in outputs)
    assert not any(o["output_type"] == "error" for cell in outputs for o in cell)
    assert f"config {cfg.config_id}: catalog {lab_env['LIVEEXEC_CATALOG']}" in text
    # The catalog summary: the bundled file's 45,031 one-minute bars, first one, no gaps.
    assert "<td>45031</td><td>2021-12-31 23:01:00 UTC</td>" in text
    assert "<td>1m</td><td>0</td>" in text
    images = sum("image/png" in o.get("data", {}) for cell in outputs for o in cell)
    assert images == 1
    # The save went to the working copy, as percent text without outputs; liveexec's own
    # notebooks are untouched.
    saved = (workdir / "01_explore.py").read_text()
    assert '# %% tags=["parameters"]' in saved and "image/png" not in saved
    assert {path.name: sha256(path) for path in NOTEBOOKS_DIR.glob("*.py")} == packaged
    # Stopped: the server exited, and took its kernel with it.
    deadline = time.monotonic() + 15
    while alive(int(kernel_pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(int(kernel_pid)), "the kernel outlived the server"


def test_working_copy_keeps_edits_and_points_at_the_bundled_config(tmp_path: Path) -> None:
    first = prepare_working_copy(tmp_path / "nb")
    assert first.copied == sorted(path.name for path in NOTEBOOKS_DIR.glob("*.py"))
    text = (tmp_path / "nb" / "01_explore.py").read_text()
    line = next(line for line in text.splitlines() if line.startswith("config = "))
    assert Path(json.loads(line.removeprefix("config = "))) == (
        EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
    )
    (tmp_path / "nb" / "01_explore.py").write_text(text + "\n# %%\nprint('mine')\n")
    (tmp_path / "nb" / "02_backtest.py").unlink()
    second = prepare_working_copy(tmp_path / "nb")
    assert second.copied == ["02_backtest.py"]
    assert second.edited == ["01_explore.py"]
    assert "print('mine')" in (tmp_path / "nb" / "01_explore.py").read_text()
    # Serving liveexec's own folder edits in place: nothing copied.
    assert prepare_working_copy(NOTEBOOKS_DIR).copied == []


def test_lab_refuses_a_notebook_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = CliRunner().invoke(app, ["lab", "--notebook-dir", str(target), "--no-browser"])
    assert result.exit_code == 2
    assert f"--notebook-dir {target} is not a folder" in " ".join(result.output.split())
    assert target.read_text() == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs to run as root")
def test_lab_starts_as_root(lab_env: dict[str, str]) -> None:
    """Root is the default user in containers: Jupyter refuses it (exit 1, "Running as root is
    not recommended") unless told --allow-root, which the command passes and says so."""
    port = free_port()
    server = subprocess.Popen(
        [str(LIVEEXEC), "lab", "--port", str(port), "--no-browser"],
        env=lab_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        async def status() -> Any:
            lab = Lab(port)
            deadline = time.monotonic() + 90
            while True:
                if server.poll() is not None:
                    return None
                try:
                    found = await lab.call("GET", "/api/status")
                    await lab.call("POST", "/api/shutdown")
                    return found
                except (ConnectionError, HTTPClientError, OSError):
                    assert time.monotonic() < deadline, "JupyterLab did not start in 90 s"
                    await asyncio.sleep(0.5)

        found = asyncio.run(status())
        log, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
    assert found is not None, log
    assert "started" in found
    assert server.returncode == 0, log
    assert "running as root: passing --allow-root to JupyterLab" in log
    assert "Running as root is not recommended" not in log
