"""The pose engine end to end: clip in, :class:`~backend.pose.track.Track` out.

Per frame (MediaPipe's ``PoseLandmarkCpu`` graph, with our choice of person):

1. while tracking holds, the region comes from the previous frame's auxiliary landmarks;
   otherwise the detector runs on the whole frame and :class:`~backend.pose.selection.Target`
   picks our person's detection (not simply the most confident one);
2. the landmark network runs on the 256x256 crop of that region; if its pose flag says
   nobody is there, tracking is lost, and the detector gets one more chance on the same frame;
3. the smoothed auxiliary landmarks give the next frame's region;
4. the camera's motion: background features outside the person's box, followed from the
   previous frame on a small copy of the luma plane (:mod:`backend.pose.camera_motion`).

Decoding runs on its own thread (:class:`~backend.pose.video.FrameReader`), so it overlaps
inference; frames are streamed, never held.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import numpy as np
import numpy.typing as npt

from backend.pose.camera_motion import (
    Box,
    CameraMotionEstimator,
    person_box,
    shrink_factor,
    small_luma,
)
from backend.pose.detector import PoseDetector
from backend.pose.landmarks import LandmarkModel, PoseLandmarks
from backend.pose.networks import SessionSettings, load_networks
from backend.pose.overlay import KeyframeWriter, OverlayWriter
from backend.pose.roi import Roi
from backend.pose.selection import (
    SELECTION_INTERVAL_S,
    SELECTION_WINDOW_S,
    Person,
    PersonTrack,
    Target,
    choose_by_point,
    find_people,
    link_samples,
    pick_runner,
)
from backend.pose.track import N_LANDMARKS, Track
from backend.pose.tracker import RoiTracker
from backend.pose.video import Frame, FrameReader, iter_frames, open_video

ProgressCallback = Callable[[int, int | None], None]
PROGRESS_INTERVAL_S = 0.1
#: While tracking is lost, the person is taken to be where last seen for this long (their
#: box kept clear of background features).
PERSON_BOX_HOLD_S = 0.5


def decoder_threads() -> int:
    """FFmpeg threads for decoding beside inference: 0 lets FFmpeg choose.

    On two cores or fewer, inference already fills them; FFmpeg's own choice (a thread per
    core and one more) only contends with it, and one decoding thread is faster
    (bench/pose_speed.py, docs/pose.md). With more cores, decoding has its own. The cores
    counted are those this process may run on (a container's CPU set), as FFmpeg counts them.
    """
    return 1 if usable_cores() <= 2 else 0


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class PoseEngine:
    """The two networks, loaded once, reusable across clips (not across threads)."""

    detector: PoseDetector
    landmarker: LandmarkModel

    @classmethod
    def load(cls, models_dir: Path | None = None,
             settings: SessionSettings | None = None) -> PoseEngine:
        networks = load_networks(models_dir, settings)
        return cls(PoseDetector(networks.detector), LandmarkModel(networks.landmarker))


class PersonTracker:
    """Follows one person from frame to frame."""

    def __init__(self, engine: PoseEngine, target: Target) -> None:
        self._engine = engine
        self.target = target
        self._roi: Roi | None = None
        self._roi_tracker = RoiTracker()
        self.detector_runs = 0

    def start_with(self, frame: Frame, person: Person) -> PoseLandmarks:
        """Begin with a person already found in ``frame`` (point selection)."""
        return self._accept(frame, person.pose)

    def step(self, frame: Frame) -> PoseLandmarks | None:
        pose = None
        if self._roi is not None:
            pose = self._engine.landmarker.infer(frame, self._roi)
            if pose is None:
                self._roi_tracker.reset()
        if pose is None:
            pose = self._acquire(frame)
        if pose is None:
            self._roi = None
            self._roi_tracker.reset()
            return None
        return self._accept(frame, pose)

    def _acquire(self, frame: Frame) -> PoseLandmarks | None:
        self.detector_runs += 1
        detection = self.target.choose(frame.timestamp_s, self._engine.detector.detect(frame))
        if detection is None:
            return None
        return self._engine.landmarker.infer(frame, detection.roi())

    def _accept(self, frame: Frame, pose: PoseLandmarks) -> PoseLandmarks:
        self.target.update(frame.timestamp_s, pose)
        self._roi = self._roi_tracker.next_roi(frame.index, pose.auxiliary)
        return pose


def select_runner(clip_path: Path, engine: PoseEngine,
                  window_s: float = SELECTION_WINDOW_S,
                  interval_s: float = SELECTION_INTERVAL_S
                  ) -> tuple[PersonTrack | None, list[PersonTrack]]:
    """Look at the first ``window_s`` seconds, a frame every ``interval_s``: (the runner,
    everyone else seen)."""
    samples: list[tuple[float, list[Person]]] = []
    next_t = 0.0
    for frame in iter_frames(clip_path):
        if frame.timestamp_s > window_s:
            break
        if frame.timestamp_s + 1e-6 >= next_t:
            samples.append((frame.timestamp_s,
                            find_people(frame, engine.detector, engine.landmarker)))
            next_t = frame.timestamp_s + interval_s
    tracks = link_samples(samples)
    runner = pick_runner(tracks, len(samples))
    return runner, [t for t in tracks if t is not runner]


class CameraMotionRecorder:
    """The camera's motion, frame by frame, beside the pose (``Track.camera_motion``)."""

    def __init__(self, width: int, height: int) -> None:
        self._estimator = CameraMotionEstimator()
        self._factor = shrink_factor(width, height)
        self._box: Box | None = None
        self._box_time = -np.inf
        self.transforms: list[npt.NDArray[np.float64]] = []
        self.inliers: list[float] = []

    def add(self, frame: Frame, landmarks: npt.NDArray[np.float32] | None) -> None:
        box = person_box(landmarks) if landmarks is not None else None
        if box is not None:
            self._box, self._box_time = box, frame.timestamp_s
        elif frame.timestamp_s - self._box_time <= PERSON_BOX_HOLD_S:
            box = self._box
        transform, inliers = self._estimator.update(
            small_luma(frame.y, frame.rotation, self._factor), box)
        self.transforms.append(transform)
        self.inliers.append(inliers)

    def arrays(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        if not self.transforms:
            return np.empty((0, 2, 3), np.float32), np.empty(0, np.float32)
        return (np.stack(self.transforms).astype(np.float32),
                np.asarray(self.inliers, np.float32))


@dataclass
class PoseRunStats:
    frames: int = 0
    found: int = 0
    detector_runs: int = 0
    seconds: float = 0.0


def run_pose(
    clip_path: str | Path,
    *,
    person: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    overlay_path: str | Path | None = None,
    keyframes_dir: str | Path | None = None,
    engine: PoseEngine | None = None,
    stats: PoseRunStats | None = None,
) -> Track:
    """Track one person through a clip: the runner, or whoever is at ``person`` (x, y, in
    pixels of the upright first frame).

    Raises :class:`~backend.pose.errors.VideoError` for a clip that cannot be read and
    :class:`~backend.pose.errors.ModelsMissingError` when the models are not provisioned.
    ``progress(done_frames, total_frames)`` is called as frames complete (total may be None
    or an estimate for containers that do not store it).
    """
    started = monotonic()
    clip_path = Path(clip_path)
    info = open_video(clip_path)
    engine = engine or PoseEngine.load()
    target = Target()
    if person is None:
        target.reference, target.others = select_runner(clip_path, engine)
    tracker = PersonTracker(engine, target)

    landmarks: list[npt.NDArray[np.float32]] = []
    world: list[npt.NDArray[np.float32]] = []
    times: list[float] = []
    missing = np.full((N_LANDMARKS, 5), np.nan, np.float32)
    missing_world = np.full((N_LANDMARKS, 3), np.nan, np.float32)
    overlay = (OverlayWriter(overlay_path, info.width, info.height, info.fps_nominal)
               if overlay_path is not None else None)
    keyframes = (KeyframeWriter(keyframes_dir, info.duration_s)
                 if keyframes_dir is not None else None)
    motion = CameraMotionRecorder(info.width, info.height)
    total = info.frame_count
    last_report = 0.0
    reported: tuple[int, int | None] | None = None
    chosen_found = False
    try:
        with FrameReader(clip_path, decoder_threads=decoder_threads()) as reader:
            for frame in reader:
                pose: PoseLandmarks | None
                if person is not None and not chosen_found:
                    # Until the chosen person is seen (they may be hidden at first), look
                    # for whoever is at the point, never anyone else.
                    chosen = choose_by_point(
                        find_people(frame, engine.detector, engine.landmarker), person)
                    pose = None if chosen is None else tracker.start_with(frame, chosen)
                    chosen_found = chosen is not None
                else:
                    pose = tracker.step(frame)
                lm = pose.landmarks if pose is not None else missing
                landmarks.append(lm)
                world.append(pose.world if pose is not None else missing_world)
                times.append(frame.timestamp_s)
                motion.add(frame, pose.landmarks if pose is not None else None)
                if overlay is not None:
                    overlay.write(frame, lm)
                if keyframes is not None:
                    keyframes.offer(frame, lm)
                if progress is not None:
                    now = monotonic()
                    if now - last_report >= PROGRESS_INTERVAL_S:
                        last_report = now
                        reported = (len(times), max(total, len(times)) if total else None)
                        progress(*reported)
    finally:
        if overlay is not None:
            overlay.close()
        if keyframes is not None:
            keyframes.close()
    if progress is not None and reported != (len(times), len(times)):
        progress(len(times), len(times))  # the end, with the true total
    camera_motion, camera_motion_inliers = motion.arrays()
    track = Track(
        landmarks=np.stack(landmarks) if landmarks else np.empty((0, N_LANDMARKS, 5), np.float32),
        world=np.stack(world) if world else np.empty((0, N_LANDMARKS, 3), np.float32),
        timestamps_s=np.asarray(times, np.float64),
        width=info.width,
        height=info.height,
        fps_nominal=info.fps_nominal,
        camera_motion=camera_motion,
        camera_motion_inliers=camera_motion_inliers,
    )
    if stats is not None:
        stats.frames = track.n_frames
        stats.found = int(track.found.sum())
        stats.detector_runs = tracker.detector_runs
        stats.seconds = monotonic() - started
    return track
