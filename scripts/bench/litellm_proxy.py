"""LiteLLM's proxy, the third target: installed into its own venv, started as a service.

The venv lives outside the project (``~/.cache/playground-bench/litellm-venv``), so
LiteLLM's large dependency tree never mixes with the playground's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.bench.processes import LOOPBACK, NO_PROXY_ENV, Service, free_port

LITELLM_VENV = Path("~/.cache/playground-bench/litellm-venv").expanduser()
# Pinned: litellm 1.82.7 and 1.82.8 on PyPI were a supply-chain compromise (March
# 2026; a credential stealer run from a .pth file at every interpreter start). 1.82.6
# is the last release published before it. Override with --litellm-spec.
LITELLM_SPEC = "litellm[proxy]==1.82.6"


def litellm_bin(venv: Path = LITELLM_VENV) -> Path:
    """The ``litellm`` proxy command inside its virtual environment."""
    return venv / "bin" / "litellm"


def litellm_version(venv: Path = LITELLM_VENV) -> str | None:
    """The installed LiteLLM version, or None when it is not installed."""
    python = venv / "bin" / "python"
    if not litellm_bin(venv).exists() or not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.stdout.strip() or None if probe.returncode == 0 else None


def install_litellm(spec: str, venv: Path = LITELLM_VENV, *, log: Any = print) -> bool:
    """Create ``venv`` (outside the project) and pip-install ``spec`` into it.

    It takes minutes (LiteLLM's proxy pulls in a large dependency tree); pip's output
    goes to ``install.log`` beside the venv. False when any step fails.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    log_path = venv.parent / "install.log"
    log(f"installing {spec} into {venv} (takes a few minutes; log: {log_path})")
    with log_path.open("w") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                spec,
            ],
        ]
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                log(f"LiteLLM install failed at {' '.join(step[:4])}…; see {log_path}")
                return False
    log(f"installed LiteLLM {litellm_version(venv)}")
    return True


LITELLM_CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {api_base}
      api_key: bench-key
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def _litellm_env(master_key: str) -> dict[str, str]:
    """The caller's environment, minus what would change LiteLLM's behaviour."""
    # No DATABASE_URL (it would make LiteLLM try Prisma), no keys of the caller.
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith(("OPENAI_", "LITELLM_"))
    }
    env.update(
        NO_PROXY_ENV,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_MASTER_KEY=master_key,
    )
    return env


def _wait_until_live(service: Service, timeout: float = 180) -> None:
    """Poll ``/health/liveliness`` until it answers 200; stop the service on timeout."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as http:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"litellm exited with {service.process.returncode}:\n{service.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{service.url}/health/liveliness").status_code == 200:
                    return
            time.sleep(0.5)
    service.stop()
    raise RuntimeError(f"litellm did not become ready:\n{service.tail()}")


def start_litellm(
    upstream_url: str, model: str, work_dir: Path, venv: Path = LITELLM_VENV
) -> tuple[Service, str]:
    """LiteLLM's proxy, one worker, no database, on a free loopback port; also its key.

    Ready when ``/health/liveliness`` answers 200 (its start-up takes seconds).
    """
    config = work_dir / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(model=model, api_base=upstream_url))
    master_key = f"sk-bench-{secrets.token_hex(16)}"
    port = free_port()
    argv = [
        str(litellm_bin(venv)),
        "--config",
        str(config),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    process = subprocess.Popen(
        argv,
        cwd=work_dir,
        env=_litellm_env(master_key),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = Service(name="litellm", process=process, url=f"http://{LOOPBACK}:{port}")

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            service.output.append(line)

    threading.Thread(target=drain, name="drain-litellm", daemon=True).start()
    _wait_until_live(service)
    return service, master_key
