"""Provision the pose models: MediaPipe wheel -> verified .tflite -> our ONNX conversion.

``make install`` and ``stridelab models fetch`` run this; nothing is fetched at run time.

1. The two ``.tflite`` files come from ``--from-dir`` (``tflite_dir``), else from the cache
   ``ml_models/.cache/``, else from the ``mediapipe==0.10.14`` wheel: the file named by
   ``STRIDELAB_MODEL_WHEEL``, a wheel already in the cache, or one ``pip download`` puts
   there (the wheel is never installed).
2. Their sha256 must match the digests below, whatever their origin.
3. Each is converted to ``ml_models/<name>.onnx`` (written atomically), and the sidecar
   ``ml_models/models.json`` records the digests and the converter version.

A second run with an up-to-date manifest does nothing. Every failure raises
:class:`ProvisioningError` with what failed and how to provide the files by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ml_models import tflite_to_onnx
from ml_models.tflite_to_onnx import CONVERTER_VERSION, ConversionError, convert, write_atomically

MODELS_DIR = Path(__file__).resolve().parent
CACHE_DIR_NAME = ".cache"
MANIFEST_NAME = "models.json"
WHEEL_ENV = "STRIDELAB_MODEL_WHEEL"
MEDIAPIPE_VERSION = "0.10.14"
# The wheel is pure data to us: any platform tag carries the same model files.
PIP_DOWNLOAD_ARGS = (
    "download",
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux2014_x86_64",
    f"mediapipe=={MEDIAPIPE_VERSION}",
)


@dataclass(frozen=True)
class PoseModel:
    name: str
    wheel_member: str
    sha256: str

    @property
    def tflite_name(self) -> str:
        return f"{self.name}.tflite"

    @property
    def onnx_name(self) -> str:
        return f"{self.name}.onnx"


POSE_DETECTION = PoseModel(
    name="pose_detection",
    wheel_member="mediapipe/modules/pose_detection/pose_detection.tflite",
    sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
POSE_LANDMARK_FULL = PoseModel(
    name="pose_landmark_full",
    wheel_member="mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
)
POSE_MODELS: tuple[PoseModel, ...] = (POSE_DETECTION, POSE_LANDMARK_FULL)


class ProvisioningError(RuntimeError):
    """The models could not be provisioned; the message says why and what to do."""

    def __init__(self, what_failed: str) -> None:
        self.what_failed = what_failed
        super().__init__(f"{what_failed}\n\n{MANUAL_INSTRUCTIONS}")


WHEEL_FILE_NAME = (
    f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
)
MANUAL_INSTRUCTIONS = f"""\
How to provide the pose models by hand (both ways work offline):
  1. Put {POSE_DETECTION.tflite_name} and {POSE_LANDMARK_FULL.tflite_name} in a directory DIR \
and run
       stridelab models fetch --from-dir DIR
     (or: python -m ml_models.provision --from-dir DIR).
     Both are inside the mediapipe {MEDIAPIPE_VERSION} wheel, at
       {POSE_DETECTION.wheel_member}
       {POSE_LANDMARK_FULL.wheel_member}
  2. Or download the wheel on a machine that reaches the package index:
       pip {" ".join(PIP_DOWNLOAD_ARGS)} -d DIR
     copy it here and run
       {WHEEL_ENV}=/path/to/{WHEEL_FILE_NAME} stridelab models fetch
Expected sha256:
  {POSE_DETECTION.tflite_name:<26} {POSE_DETECTION.sha256}
  {POSE_LANDMARK_FULL.tflite_name:<26} {POSE_LANDMARK_FULL.sha256}"""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir(models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / CACHE_DIR_NAME


def cached_tflite(model: PoseModel, models_dir: Path = MODELS_DIR) -> Path:
    """Where provisioning keeps the verified ``.tflite`` of ``model`` (tests read it)."""
    return cache_dir(models_dir) / model.tflite_name


def onnx_paths(models_dir: Path = MODELS_DIR) -> dict[str, Path]:
    return {model.name: models_dir / model.onnx_name for model in POSE_MODELS}


# ---------------------------------------------------------------------------------------------
# The manifest: what the .onnx files were made from, so a second run can do nothing.


def _converter_digest() -> str:
    """Digest of the converter's source: a change nobody remembered to version still
    triggers a new conversion."""
    return sha256_of(Path(tflite_to_onnx.__file__))


def _expected_manifest(models_dir: Path) -> dict[str, object]:
    return {
        "converter_version": CONVERTER_VERSION,
        "converter_sha256": _converter_digest(),
        "mediapipe_version": MEDIAPIPE_VERSION,
        "models": {
            model.name: {
                "tflite_sha256": model.sha256,
                "onnx": model.onnx_name,
                "onnx_sha256": sha256_of(models_dir / model.onnx_name),
            }
            for model in POSE_MODELS
        },
    }


def is_up_to_date(models_dir: Path = MODELS_DIR) -> bool:
    """The .onnx files exist and match a manifest made by this converter from these weights."""
    try:
        manifest = json.loads((models_dir / MANIFEST_NAME).read_text())
        return bool(manifest == _expected_manifest(models_dir))
    except (OSError, ValueError):  # missing or unreadable manifest or model, bad JSON
        return False


# ---------------------------------------------------------------------------------------------
# Getting verified .tflite files


def _verify(path: Path, model: PoseModel, origin: str) -> None:
    actual = sha256_of(path)
    if actual != model.sha256:
        raise ProvisioningError(
            f"{model.tflite_name} from {origin} failed its sha256 check: it is {actual}, "
            f"expected {model.sha256}. The file is corrupt or not the mediapipe "
            f"{MEDIAPIPE_VERSION} model."
        )


def _copy_from_dir(tflite_dir: Path, cache: Path, log: Callable[[str], None]) -> None:
    for model in POSE_MODELS:
        source = tflite_dir / model.tflite_name
        if not source.is_file():
            raise ProvisioningError(f"{model.tflite_name} is not in {tflite_dir}.")
        _verify(source, model, str(source))
        if source.resolve() != (cache / model.tflite_name).resolve():
            write_atomically(cache / model.tflite_name, source.read_bytes())
        log(f"Using {source} (sha256 verified).")


def _cached_wheel(cache: Path) -> Path | None:
    wheels = sorted(cache.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    return wheels[0] if wheels else None


def _download_wheel(cache: Path, log: Callable[[str], None]) -> Path:
    download_dir = cache / "download"
    shutil.rmtree(download_dir, ignore_errors=True)
    download_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", *PIP_DOWNLOAD_ARGS, "-d", str(download_dir)]
    command += ["--no-input", "--disable-pip-version-check"]
    log(f"Downloading the mediapipe {MEDIAPIPE_VERSION} wheel (about 35 MB, not installed)...")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(download_dir.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        shutil.rmtree(download_dir, ignore_errors=True)
        lines = (result.stderr + result.stdout).splitlines()
        # pip repeats its connection warning per retry: one is enough, then its errors.
        connection = [line[:300] for line in lines if "connection" in line.lower()][-1:]
        errors = [line for line in lines if line.startswith("ERROR")][-4:]
        detail = "\n    ".join(connection + errors or lines[-6:]) or "(no output)"
        raise ProvisioningError(
            f"Downloading mediapipe=={MEDIAPIPE_VERSION} from the package index failed "
            f"(pip exited with {result.returncode}; offline, or the index is unreachable?).\n"
            f"pip said:\n    {detail}"
        )
    wheel = cache / wheels[0].name
    os.replace(wheels[0], wheel)
    shutil.rmtree(download_dir, ignore_errors=True)
    return wheel


def _extract_from_wheel(wheel: Path, cache: Path, *, owned: bool) -> None:
    """Take the two models out of ``wheel`` into the cache, verified.

    ``owned`` marks a wheel this module downloaded: a bad one is deleted so that the next
    run downloads it again, while a wheel the user pointed at is left alone.
    """
    try:
        with zipfile.ZipFile(wheel) as archive:
            payloads = {model.name: archive.read(model.wheel_member) for model in POSE_MODELS}
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        retry = ""
        if owned:
            wheel.unlink(missing_ok=True)
            retry = " It was deleted from the cache: run again to download it afresh."
        raise ProvisioningError(
            f"{wheel} is not a usable mediapipe {MEDIAPIPE_VERSION} wheel ({error}).{retry}"
        ) from error
    for model in POSE_MODELS:
        target = cache / model.tflite_name
        write_atomically(target, payloads[model.name])
        try:
            _verify(target, model, f"the wheel {wheel}")
        except ProvisioningError:
            target.unlink(missing_ok=True)
            if owned:
                wheel.unlink(missing_ok=True)
            raise


def _ensure_tflite(cache: Path, log: Callable[[str], None]) -> dict[str, Path]:
    """Verified .tflite files in the cache, extracted from the wheel if need be."""
    if not all(_is_verified(cache / m.tflite_name, m) for m in POSE_MODELS):
        wheel_setting = os.environ.get(WHEEL_ENV)
        if wheel_setting:
            wheel = Path(wheel_setting).expanduser()
            if not wheel.is_file():
                raise ProvisioningError(f"{WHEEL_ENV}={wheel_setting} does not name a file.")
            log(f"Using the wheel {wheel} ({WHEEL_ENV}).")
            _extract_from_wheel(wheel, cache, owned=False)
        else:
            wheel = _cached_wheel(cache) or _download_wheel(cache, log)
            _extract_from_wheel(wheel, cache, owned=True)
        log(f"Extracted and verified the .tflite files from {wheel.name}.")
    return {model.name: cache / model.tflite_name for model in POSE_MODELS}


def _is_verified(path: Path, model: PoseModel) -> bool:
    return path.is_file() and sha256_of(path) == model.sha256


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Serialise provisioning across processes (``make install`` beside a test run)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic renames still keep every file whole
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------------
# The entry points


def ensure_models(
    models_dir: Path = MODELS_DIR,
    *,
    force: bool = False,
    tflite_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Path]:
    """Make sure ``models_dir`` holds the converted pose models; return name -> .onnx path.

    Idempotent: with an up-to-date manifest (same weights, same converter version, .onnx
    files unchanged) it does nothing unless ``force``. ``tflite_dir`` supplies the two
    ``.tflite`` files instead of the wheel. Raises :class:`ProvisioningError`.
    """
    models_dir = Path(models_dir)
    targets = onnx_paths(models_dir)
    if not force and tflite_dir is None and is_up_to_date(models_dir):
        log(f"Pose models up to date in {models_dir}.")
        return targets
    cache = cache_dir(models_dir)
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache / ".lock"):
        if tflite_dir is not None:
            _copy_from_dir(Path(tflite_dir), cache, log)
        # Checked again: another process may have done the work while this one waited.
        if not force and is_up_to_date(models_dir):
            log(f"Pose models up to date in {models_dir}.")
            return targets
        sources = _ensure_tflite(cache, log)
        for model in POSE_MODELS:
            try:
                convert(sources[model.name], targets[model.name])
            except (ConversionError, OSError, ValueError) as error:
                raise ProvisioningError(
                    f"Converting {sources[model.name]} to ONNX failed: {error}"
                ) from error
            log(f"Converted {model.tflite_name} -> {targets[model.name]}.")
        write_atomically(
            models_dir / MANIFEST_NAME,
            (json.dumps(_expected_manifest(models_dir), indent=2) + "\n").encode(),
        )
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml_models.provision",
        description="Download, verify and convert the pose models (idempotent).",
    )
    parser.add_argument("--force", action="store_true", help="convert again even if up to date")
    parser.add_argument(
        "--from-dir",
        type=Path,
        metavar="DIR",
        help="take pose_detection.tflite and pose_landmark_full.tflite from DIR",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=MODELS_DIR,
        metavar="DIR",
        help=f"where the .onnx files and the cache go (default {MODELS_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        ensure_models(args.models_dir, force=args.force, tflite_dir=args.from_dir)
    except ProvisioningError as error:
        print(f"Pose model provisioning failed.\n{error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
