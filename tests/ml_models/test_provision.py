"""Provisioning: verified, idempotent, and clear about what to do when it cannot download.

Everything except the session fixture works in a temporary models directory, fed from the
verified .tflite files the real provisioning cached, so no test needs the network; the
download failure is a real pip run against an unreachable index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from backend.cli.models import register
from ml_models.provision import (
    MANIFEST_NAME,
    MODELS_DIR,
    POSE_DETECTION,
    POSE_LANDMARK_FULL,
    POSE_MODELS,
    WHEEL_ENV,
    ProvisioningError,
    cached_tflite,
    ensure_models,
    is_up_to_date,
    onnx_paths,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def provision_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ml_models.provision", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.fixture
def tflite_dir(tmp_path: Path, tflite_models: dict[str, Path]) -> Path:
    """A directory holding the two verified .tflite files, as a user would prepare it."""
    directory = tmp_path / "by_hand"
    directory.mkdir()
    for path in tflite_models.values():
        shutil.copy(path, directory / path.name)
    return directory


def make_wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def file_states(paths: list[Path]) -> dict[Path, tuple[int, int]]:
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in paths}


def test_real_models_are_provisioned(provisioned_models: dict[str, Path]) -> None:
    assert provisioned_models == onnx_paths(MODELS_DIR)
    assert all(path.is_file() for path in provisioned_models.values())
    assert is_up_to_date(MODELS_DIR)
    manifest = json.loads((MODELS_DIR / MANIFEST_NAME).read_text())
    for model in POSE_MODELS:
        assert manifest["models"][model.name]["tflite_sha256"] == model.sha256


def test_second_run_does_no_work_and_force_redoes_it(tmp_path: Path, tflite_dir: Path) -> None:
    models_dir = tmp_path / "models"
    first: list[str] = []
    paths = ensure_models(models_dir, tflite_dir=tflite_dir, log=first.append)
    assert sum("Converted" in line for line in first) == 2
    produced = [*paths.values(), models_dir / MANIFEST_NAME]
    before = file_states(produced)
    contents = {path: path.read_bytes() for path in paths.values()}

    second: list[str] = []
    assert ensure_models(models_dir, log=second.append) == paths
    assert second == [f"Pose models up to date in {models_dir}."]
    assert file_states(produced) == before  # not rewritten, not even renamed over

    forced: list[str] = []
    ensure_models(models_dir, force=True, log=forced.append)
    assert sum("Converted" in line for line in forced) == 2
    assert {path: path.read_bytes() for path in paths.values()} == contents  # deterministic


def test_new_converter_version_or_edited_model_triggers_conversion(
    tmp_path: Path, tflite_dir: Path
) -> None:
    models_dir = tmp_path / "models"
    ensure_models(models_dir, tflite_dir=tflite_dir, log=lambda _line: None)
    manifest_path = models_dir / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["converter_version"] = "0"
    manifest_path.write_text(json.dumps(manifest))
    assert not is_up_to_date(models_dir)
    log: list[str] = []
    ensure_models(models_dir, log=log.append)  # from the cache: no directory, no network
    assert sum("Converted" in line for line in log) == 2
    assert is_up_to_date(models_dir)

    onnx_path = onnx_paths(models_dir)[POSE_DETECTION.name]
    onnx_path.write_bytes(onnx_path.read_bytes()[:-10])  # a damaged model is rebuilt
    assert not is_up_to_date(models_dir)
    ensure_models(models_dir, log=lambda _line: None)
    assert is_up_to_date(models_dir)


def test_from_dir_on_the_command_line(
    tmp_path: Path, tflite_dir: Path, provisioned_models: dict[str, Path]
) -> None:
    models_dir = tmp_path / "models"
    result = provision_command(
        "--from-dir", str(tflite_dir), "--models-dir", str(models_dir), env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stdout
    for name, path in onnx_paths(models_dir).items():
        assert path.read_bytes() == provisioned_models[name].read_bytes()
    assert is_up_to_date(models_dir)


def test_corrupted_tflite_is_refused_with_a_clear_message(tmp_path: Path, tflite_dir: Path) -> None:
    corrupted = tflite_dir / POSE_LANDMARK_FULL.tflite_name
    data = bytearray(corrupted.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    models_dir = tmp_path / "models"

    with pytest.raises(ProvisioningError) as failure:
        ensure_models(models_dir, tflite_dir=tflite_dir, log=lambda _line: None)
    message = str(failure.value)
    assert f"{POSE_LANDMARK_FULL.tflite_name} from {corrupted} failed its sha256 check" in message
    assert POSE_LANDMARK_FULL.sha256 in message
    assert "--from-dir" in message and WHEEL_ENV in message
    assert not any(path.exists() for path in onnx_paths(models_dir).values())
    assert not (models_dir / ".cache" / POSE_LANDMARK_FULL.tflite_name).exists()

    result = provision_command(
        "--from-dir", str(tflite_dir), "--models-dir", str(models_dir), env=clean_env()
    )
    assert result.returncode == 2
    assert "failed its sha256 check" in result.stderr


def test_wheel_named_by_the_environment_is_used(
    tmp_path: Path, tflite_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(
        tmp_path / "mediapipe-0.10.14-py3-none-any.whl",
        {model.wheel_member: tflite_models[model.name].read_bytes() for model in POSE_MODELS},
    )
    models_dir = tmp_path / "models"
    stale = models_dir / ".cache" / POSE_DETECTION.tflite_name
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not a model")  # a damaged cache entry is replaced from the wheel
    monkeypatch.setenv(WHEEL_ENV, str(wheel))
    log: list[str] = []
    ensure_models(models_dir, log=log.append)
    assert any(f"Using the wheel {wheel}" in line for line in log)
    assert cached_tflite(POSE_DETECTION, models_dir).read_bytes() == (
        tflite_models[POSE_DETECTION.name].read_bytes()
    )
    assert is_up_to_date(models_dir)


def test_bad_wheels_are_refused_and_left_alone(
    tmp_path: Path, tflite_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    models_dir = tmp_path / "models"
    empty = make_wheel(tmp_path / "empty.whl", {"mediapipe/__init__.py": b""})
    monkeypatch.setenv(WHEEL_ENV, str(empty))
    with pytest.raises(ProvisioningError, match=r"not a usable mediapipe 0\.10\.14 wheel"):
        ensure_models(models_dir, log=lambda _line: None)
    assert empty.exists()  # the user's file: reported, not deleted

    members = {model.wheel_member: tflite_models[model.name].read_bytes() for model in POSE_MODELS}
    members[POSE_DETECTION.wheel_member] = b"tampered"
    tampered = make_wheel(tmp_path / "tampered.whl", members)
    monkeypatch.setenv(WHEEL_ENV, str(tampered))
    with pytest.raises(ProvisioningError, match="failed its sha256 check"):
        ensure_models(models_dir, log=lambda _line: None)
    assert not (models_dir / ".cache" / POSE_DETECTION.tflite_name).exists()

    monkeypatch.setenv(WHEEL_ENV, str(tmp_path / "missing.whl"))
    with pytest.raises(ProvisioningError, match="does not name a file"):
        ensure_models(models_dir, log=lambda _line: None)

    # A broken download in the cache is deleted, so that the next run fetches it afresh.
    monkeypatch.delenv(WHEEL_ENV)
    cached = models_dir / ".cache" / "mediapipe-0.10.14-cp311-cp311-linux_x86_64.whl"
    cached.write_bytes(b"truncated download")
    with pytest.raises(ProvisioningError, match="run again to download it afresh"):
        ensure_models(models_dir, log=lambda _line: None)
    assert not cached.exists()


def test_failed_download_exits_2_and_says_how_to_provide_the_files(tmp_path: Path) -> None:
    """Offline, simulated for real: pip pointed at an unreachable index, an empty cache."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("PIP_")}
    env.update(
        PIP_INDEX_URL="http://127.0.0.1:9/simple",
        PIP_CONFIG_FILE=os.devnull,  # no extra index or find-links from pip.conf
        PIP_RETRIES="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    models_dir = tmp_path / "models"
    result = provision_command("--models-dir", str(models_dir), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Downloading mediapipe==0.10.14 from the package index failed" in result.stderr
    assert "stridelab models fetch --from-dir DIR" in result.stderr
    assert f"{WHEEL_ENV}=/path/to/" in result.stderr
    assert POSE_DETECTION.sha256 in result.stderr
    assert not any(path.exists() for path in onnx_paths(models_dir).values())
    leftovers = sorted(p.name for p in (models_dir / ".cache").iterdir() if p.name != ".lock")
    assert leftovers == []


def test_stridelab_models_fetch(provisioned_models: dict[str, Path], tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so that "models" stays a sub-command
        """Placeholder."""

    runner = CliRunner()
    result = runner.invoke(app, ["models", "fetch"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["models", "fetch", "--from-dir", str(empty)])
    assert result.exit_code == 2
    assert f"pose_detection.tflite is not in {empty}" in result.output
    assert "How to provide the pose models by hand" in result.output
