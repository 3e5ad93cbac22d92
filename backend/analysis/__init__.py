"""One analysis of a running clip, for every caller: pose, then running form, then the key
frames at the fault moments with the measured lines and angles drawn. The worker
(``backend.clips.pipeline``) and the command line (``stridelab analyze``, ``analyze-track``)
both call it. Pure of web and database code: it imports only the pose and gait domains."""

from backend.analysis.pipeline import AnalysisResult, analyse_video, draw_key_frames

__all__ = ["AnalysisResult", "analyse_video", "draw_key_frames"]
