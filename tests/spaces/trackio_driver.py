"""Runs inside a venv holding the trackio template's requirements (tests/spaces/test_trackio_template.py).

    python trackio_driver.py deploy SPACE_ID      trackio's own deploy_as_space (HF_ENDPOINT, HF_TOKEN)
    python trackio_driver.py existing SPACE_ID    trackio's create_space_if_not_exists, no bucket
    python trackio_driver.py serve PROJECT        log a run locally, build ./app.py without a server,
                                                  log another run, ask the app what it sees

The last line on stdout is a JSON object with the results. Only trackio's public API is used to
log; building the app without a server replaces the one function trackio.show() calls to start
uvicorn (and the wait that follows it), so ./app.py runs exactly as it does on a Space otherwise.
"""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
from typing import Any


def log_run(trackio: Any, project: str, name: str, losses: list[float]) -> None:
    trackio.init(project=project, name=name, config={"lr": 0.1})
    for loss in losses:
        trackio.log({"loss": loss})
    trackio.finish()


def serve(project: str) -> dict[str, Any]:
    import trackio
    import trackio.utils

    with contextlib.redirect_stdout(io.StringIO()):
        log_run(trackio, project, "before-app", [1.0, 0.5, 0.25])
    captured: dict[str, Any] = {}

    def no_server(app: Any, **_kwargs: Any) -> tuple[str, None, None, None]:
        captured["app"] = app
        return "http://127.0.0.1:7860/", None, None, None

    trackio.launch_trackio_dashboard = no_server
    trackio.utils.block_main_thread_until_keyboard_interrupt = lambda: None
    with contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path("app.py", run_name="__main__")
    from starlette.testclient import TestClient

    client = TestClient(captured["app"])

    def api(name: str, **body: Any) -> Any:
        response = client.post(f"/api/{name}", json=body)
        response.raise_for_status()
        return response.json()["data"]

    seen: dict[str, Any] = {"version": trackio.__version__}
    seen["projects"] = api("get_all_projects")
    seen["runs_before"] = [r["name"] for r in api("get_runs_for_project", project=project)]
    seen["loss"] = [
        p["value"] for p in api("get_metric_values", project=project, run="before-app", metric_name="loss")
    ]
    # A run logged while the dashboard is up shows up without a restart.
    with contextlib.redirect_stdout(io.StringIO()):
        log_run(trackio, project, "after-app", [0.125])
    seen["runs_after"] = [r["name"] for r in api("get_runs_for_project", project=project)]
    page = client.get("/")
    seen["page"] = [page.status_code, "Trackio" in page.text]
    return seen


def main(argv: list[str]) -> dict[str, Any]:
    command, arg = argv
    if command == "serve":
        return serve(arg)
    import trackio
    from trackio import deploy

    if command == "deploy":
        deploy.deploy_as_space(arg)
        return {"version": trackio.__version__}
    if command == "existing":
        return {"created": deploy.create_space_if_not_exists(arg)}
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.stdout.write("\n" + json.dumps(result) + "\n")
