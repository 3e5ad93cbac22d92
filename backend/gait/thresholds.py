"""Every number the analysis decides with, each with its source.

"RF" means /work/shared/reference/running-form.md (the team's digest of the literature); the
paper named after it is the one that digest cites. "StrideLab heuristic" marks a number the
literature does not give; each says why it was chosen, and docs/gait.md lists them as
departures. Change a value here and the tests that straddle it follow (they import this
module rather than repeating numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- cleaning

# Landmarks under this visibility are not trusted. Sports2D drops under 0.3, OpenCap under 0.4
# (RF "Cleaning"); the stricter of the two.
VISIBILITY_MIN = 0.4

# Gaps up to this long are interpolated, longer ones split the analysis (RF "Gaps: interpolate
# up to about 0.1-0.2 s"; the issue asks for about 0.1 s).
GAP_INTERPOLATE_MAX_S = 0.10

# Camera motion: gaps in the background estimate up to this many frames are bridged by
# interpolating the transform (StrideLab heuristic: 0.1 s at 30 fps, as landmark gaps).
CAMERA_MOTION_MAX_GAP_FRAMES = 3
# The motion is removable when it is known in this share of the frames and this share of the
# background features agrees with it (StrideLab heuristic: most frames, a clear RANSAC majority).
CAMERA_MOTION_MIN_KNOWN_FRACTION = 0.9
CAMERA_MOTION_MIN_INLIERS = 0.5
# A camera whose background moved less than this (share of the frame's diagonal, and degrees)
# counts as still (StrideLab heuristic: a pixel or two of a 1080p frame, under landmark noise).
CAMERA_STILL_MAX_SHIFT_FRACTION = 0.005
CAMERA_STILL_MAX_ROTATION_DEG = 0.3

# Leg-swap repair: frames more than this far apart break the search for continuous legs
# (StrideLab heuristic: over a longer gap the legs' motion is not predictable).
LEG_SWAP_MAX_GAP_FRAMES = 2
# Side on, the world landmarks put the near leg nearer than the far one: a depth difference of
# more than this (hips and legs alike) tells them apart, and a labelling against it costs this
# many leg lengths of continuity (StrideLab heuristic: hips 20-30 cm apart in depth side on; a
# leg length outweighs a glitch of a frame or two, not a sustained motion).
LEG_SWAP_DEPTH_CLEAR_M = 0.05
LEG_SWAP_DEPTH_COST_LEG = 0.5

# Hampel outlier filter: window of about 0.23 s, 3 scaled MADs (RF, from Sports2D and Pose2Sim).
HAMPEL_WINDOW_S = 0.23
HAMPEL_N_SIGMA = 3.0

# Zero-lag Butterworth low-pass, wanted -3 dB cutoffs after the forward-backward pass (RF):
# 10-12 Hz for feet and events (OpenCap uses 12 Hz), about 6-8 Hz for trunk and pelvis.
CUTOFF_FEET_HZ = 12.0
CUTOFF_KNEES_HZ = 10.0  # between the two: knees carry both stance angles and swing speed
CUTOFF_ARMS_HZ = 8.0
CUTOFF_TRUNK_PELVIS_HZ = 7.0
CUTOFF_HEAD_HZ = 6.0
BUTTERWORTH_ORDER = 2
# The design cutoff may not exceed this fraction of the real frame rate: the filter must stay
# well below Nyquist when a phone films at 24-30 fps (StrideLab heuristic, 0.8 x Nyquist).
CUTOFF_MAX_FRACTION_OF_FS = 0.4

# The Hampel scale never falls below this fraction of the person's height in the image: on clean
# (or synthetic) data a still foot's MAD is about 0 and every tiny change would look like an
# outlier (StrideLab heuristic: 0.5 % is about 5 px on a 1080p runner, above landmark jitter).
HAMPEL_SCALE_FLOOR_BODY = 0.005
# Consistency constant turning a median absolute deviation into a standard deviation for normal
# data (Rousseeuw and Croux 1993).
MAD_TO_SD = 1.4826
# A resampled grid sample farther than this many frame intervals from a real, trusted frame
# was interpolated, not seen (StrideLab heuristic: more than half a frame plus timestamp jitter).
INTERPOLATED_SAMPLE_FRAMES = 0.75
# When a clip has no usable frame rate, assume this (StrideLab heuristic: the commonest phone
# rate; only a 1-frame track gets here and it is unfit anyway).
FPS_FALLBACK = 30.0
# filtfilt's edge padding in filter lengths: SciPy's own default (Virtanen et al. 2020),
# capped by the run's length.
FILTFILT_PAD_LENGTHS = 3

# Least data for a statistic (StrideLab heuristic: the fewest samples that pin each one down;
# fewer and the step is skipped, never guessed).
MIN_SAMPLES_HAMPEL = 5  # a median and a MAD need a window of five
MIN_SAMPLES_FILTER = 4  # a second-order filter run forward and back
MIN_SAMPLES_INTERPOLATE = 4  # PCHIP through a landmark's trusted frames
MIN_SAMPLES_LINE_FIT = 3  # a straight line with a residual
MIN_SAMPLES_QUANTILE = 8  # a running quantile, a segment, a foot-height series
WORLD_MIN_SAMPLES = 10  # a median over the world landmarks
MIN_STANCE_FRAMES_STEADY = 4  # a stance long enough to test its path for straightness
MIN_STANCES_STEADY = 4  # stances behind the camera-steadiness verdict
MIN_STANCES_GROUND_TREND = 6  # one foot's mid-stance heights for a quadratic trend
MIN_GROUND_RESIDUALS = 12  # both feet's residuals about their trends
MIN_ROLL_STEPS = 4  # steps behind a camera-roll estimate
# The ground line's running quantile is evaluated every window/8 samples and interpolated
# between (StrideLab heuristic: a sixteenth of 1.5 s is under 0.1 s, far finer than the
# ground line moves).
GROUND_QUANTILE_STRIDE_FRACTION = 8

# A segment shorter than this after splitting is not analysed (StrideLab heuristic: about two
# strides at a slow cadence, the least that can hold alternating events).
SEGMENT_MIN_S = 1.0

# A stride (a foot's contact to its next contact) is two steps (RF "Gait events").
STEPS_PER_STRIDE = 2

# --------------------------------------------------------------------------- treadmill

# Treadmill against overground (RF "Treadmill": hips stay put while the stance foot moves
# backward at belt speed). Speeds in leg lengths a second over a stance: an easy run of
# 2.5 m/s is about 3 legs/s, hips swaying on a belt well under 0.5 (StrideLab heuristic).
TREADMILL_HIP_MAX_SPEED_LEG = 0.5
TREADMILL_FOOT_MIN_SPEED_LEG = 1.0
# From behind or in front a runner coming closer grows: more than this change of the torso's
# size in the image (10th to 90th percentile) is overground, less than the second a treadmill,
# in between the clip cannot tell (StrideLab heuristic: on a treadmill the runner moves a few
# centimetres in 3-4 m, about 5 %, plus landmark noise).
OVERGROUND_MIN_SIZE_CHANGE = 0.25
TREADMILL_MAX_SIZE_CHANGE = 0.1

# --------------------------------------------------------------------------- slow motion

# Running below this cadence (steps a minute of clip time) is slow motion: the slowest jog is
# about 140-150 steps/min and walking 100-120 (RF: cadence scales with speed; StrideLab
# heuristic: a margin below both, since walking is told apart by the duty factor anyway).
SLOW_MOTION_MAX_CADENCE_SPM = 110.0
# A slow-motion clip of unknown capture rate is tried at a typical easy-pace cadence to find
# its events (RF: flag below about 160 at easy pace; StrideLab heuristic: 170, mid-range).
SLOW_MOTION_TRIAL_CADENCE_SPM = 170.0
# The band searched for the step rhythm in clip time: from 8x slow motion of a slow jog to a
# sprint (StrideLab heuristic), on a fine grid (0.25 steps/min, the README's fine-grid DFT).
SLOW_MOTION_BAND_SPM = (15.0, 240.0)
SPECTRUM_STEP_SPM = 0.25
# The rhythm needs a segment of at least this long (StrideLab heuristic: two steps at 8x slow
# motion of 150 steps/min).
SLOW_MOTION_MIN_SEGMENT_S = 6.0
# Events agree with the body's rhythm when their cadence is within this fraction of it (or
# of twice it) (StrideLab heuristic: cadence varies a few percent within a clip).
RHYTHM_AGREEMENT = 0.15
# ... and at twice it only when the spectrum shows a line there of at least this share of the
# strongest one, searched within this window (StrideLab heuristic: synthetic runners show the
# step line alone; a stride line that dominates leaves the step line well above noise).
RHYTHM_HARMONIC_SUPPORT = 0.5
RHYTHM_HARMONIC_WINDOW_SPM = 2.0
# A capture rate within this fraction of the playback rate is not slow motion (StrideLab
# heuristic: phones report 29.97 for 30 and vary a little in rate).
CAPTURE_FPS_TOLERANCE = 0.05

# --------------------------------------------------------------------------- view

# Camera azimuth about the runner, 0 = straight behind (or in front), 90 = side on. RF: 2D
# measures are valid only in the plane the camera faces; the cut-offs are a StrideLab heuristic:
# within 20 deg a segment is foreshortened by at most 6 %, at 30 deg by 13 %.
VIEW_ANGLE_GOOD_DEG = 20.0
VIEW_ANGLE_MAX_DEG = 30.0
# The knee's frontal-plane angle and the heel whip need a square camera: on synthetic runners a
# knee flexed 40 deg in stance reads 10 deg more FPPA per 3-4 deg of camera angle (RF: FPPA has
# limits of agreement of -30 to +17 deg against 3D). StrideLab heuristic, see docs/gait.md.
VIEW_ANGLE_MAX_KNEE_DEG = 3.0
# Auto inference: nearer than this to 0 / 180 is rear / front, nearer to 90 is side; in between
# the clip is oblique (StrideLab heuristic, the same 30 deg as above).
VIEW_AUTO_PLANE_DEG = 30.0
# Expected (shoulder width + hip width) / torso length seen face-on, when the world landmarks
# cannot supply it: Drillis and Contini segment proportions (Winter 2009) (shoulders 0.22 H, hip
# joint centres 0.10 H, mid-hip to mid-shoulder 0.288 H).
FRONTAL_WIDTH_RATIO_DEFAULT = (0.22 + 0.10) / 0.288
# World landmarks seen from the side may themselves shrink the far side: their face-on ratio is
# trusted only in the range face-on bodies show (StrideLab heuristic: about 0.6 to 1.6 times
# the Drillis and Contini 1.11).
WORLD_WIDTH_RATIO_MIN = 0.7
WORLD_WIDTH_RATIO_MAX = 1.8
# Rear against front: the face's mean visibility is about 0.9 face-on and MediaPipe's guess at
# a hidden face reads low; the score is 0 at FACE_VIS_NEUTRAL and saturates FACE_VIS_SPAN away
# (StrideLab heuristic, from the real clips' 0.95+ face-on).
FACE_VIS_NEUTRAL = 0.6
FACE_VIS_SPAN = 0.3
# ... weighed with the left/right order of shoulders and hips, the stronger cue (StrideLab
# heuristic).
FRONT_SCORE_ORDER_WEIGHT = 0.6
FRONT_SCORE_FACE_WEIGHT = 0.4
# Confidence of a rear/front inference with cues that do not agree at all (StrideLab heuristic).
VIEW_CONFIDENCE_FLOOR = 0.4
# An oblique clip is analysed as a side view from this angle, else as rear/front (StrideLab
# heuristic: the nearer plane).
VIEW_OBLIQUE_SIDE_FROM_DEG = 45.0
# A user's rear/front label is contradicted only by an inference at least this sure (StrideLab
# heuristic: the weaker cues must agree clearly).
VIEW_CONTRADICT_CONFIDENCE = 0.5

# --------------------------------------------------------------------------- anthropometry

# Winter (2009) / Drillis and Contini segment lengths as fractions of height: thigh 0.245,
# shank 0.246, ankle height 0.039, hip joint height 0.530.
LEG_LANDMARK_FRACTION_OF_HEIGHT = 0.245 + 0.246  # hip joint centre to ankle (our "leg length")
LEG_TAPE_FRACTION_OF_HEIGHT = 0.530  # greater trochanter to floor (how people measure it)

# A world leg (hip to ankle) outside this range is not a person's (StrideLab heuristic: hip
# joint to ankle is 0.49 of height, so 0.8-2.6 m tall).
WORLD_LEG_MIN_M = 0.4
WORLD_LEG_MAX_M = 1.3
# The pixels-per-metre scale from the world torso replaces the image legs only when it agrees
# with them within this range (StrideLab heuristic: the image legs foreshorten by up to 25 % in
# swing; a bad world estimate must not rescale everything).
WORLD_LEG_AGREE_MIN = 0.75
WORLD_LEG_AGREE_MAX = 1.35

# --------------------------------------------------------------------------- events

# Foot within this height of its stance baseline counts as on the ground, in leg lengths
# (StrideLab heuristic: about 2 cm, several times the filtered landmark noise of a 1080p clip).
CONTACT_HEIGHT_EPS_LEG = 0.02
# The event itself is the moment the foot's lowest point crosses this height (leg lengths), or
# this many standard deviations of the stance noise if more (StrideLab heuristic: about 4 mm; a
# landing foot still moves down at about 0.5-1 m/s, so 4 mm is under one frame at 60 fps, and
# the foot decelerates in the last centimetres, so extrapolating the descent lands early).
EVENT_HEIGHT_LEG = 0.005
EVENT_HEIGHT_NOISE_SIGMAS = 2.5
# The stance noise is the SD of the lowest fifth of the foot heights (StrideLab heuristic: a
# running foot is on the ground about a third of the time, so the lowest fifth is all stance),
# and the contact tolerance is this many of it when more than CONTACT_HEIGHT_EPS_LEG.
STANCE_NOISE_LOWEST_FRACTION = 0.2
CONTACT_HEIGHT_NOISE_SIGMAS = 3.0
# The foot's vertical range over the clip must exceed this for steps to exist at all (StrideLab
# heuristic: about 5 cm; a standing person's sway stays well under it, any gait clears it).
FOOT_MIN_VERTICAL_RANGE_LEG = 0.06
# Minimum spacing of contacts of one foot (RF: peaks spaced about 0.22 s; a stride is two steps).
STEP_TIME_MIN_S = 0.22
# Longest plausible step (StrideLab heuristic): 0.75 s is a slow walk (80 steps/min); longer is
# not steady locomotion.
STEP_TIME_MAX_S = 0.75
# Where the foot's forward turning point is looked for around the contact found by height
# (events.refine_contacts_at_foot_turn): the late swing before it, a little of the stance
# after it (StrideLab heuristic: height contacts came up to 5.4 frames at 30 fps, 0.18 s,
# after the hand-labelled ones, never before; the turning point by depth from behind comes
# about two frames before them).
FOOT_TURN_BEFORE_S = 0.3
FOOT_TURN_AFTER_S = 0.05
# The contact is where the foot's backward speed relative to the pelvis, after its forward
# turn, first reaches this fraction of its speed in stance (StrideLab heuristic: the foot
# decelerates in the air and is caught by the ground; half way times the synthetic runner's
# contacts within 7 ms at 60 fps, the hand-labelled side-view clip's within 2.3 frames).
FOOT_CATCH_SPEED_FRACTION = 0.5
# From behind or in front, a landing whose fastest backward motion in depth is at least this
# many times the stance's speed is the pose model flipping the foot from in front of the
# pelvis to behind it as it lands, not a foot carried back by the belt (StrideLab heuristic:
# 6-12x on the hand-labelled rear clip, about 1x on the synthetic runner's world landmarks).
FOOT_DEPTH_FLIP_SPEED_RATIO = 2.0
# The stance speed is read away from the stance's edges, where the foot lands and leaves:
# this fraction of the stance is left out at each end (StrideLab heuristic).
STANCE_EDGE_TRIM_FRACTION = 0.25
# A foot's contact is not retimed into the first part of the step after the other foot's
# contact (StrideLab heuristic: no runner lands so soon after the other foot; on the
# duplicated frames of a slow-motion clip the turn was otherwise found half a stride early).
FOOT_TURN_MIN_STEP_FRACTION = 0.5
CONTACT_TIME_MIN_S = 0.08  # shorter than any sprint contact (Weyand 2000: ~0.09 s at top speed)
CONTACT_TIME_MAX_S = 1.0  # slow walking stance; running is screened out later by duty factor
# Duty factor (contact / stride time) at or above 0.5 means no flight phase: walking (RF: when
# running, a flight phase lies between one foot's toe-off and the other's contact).
RUNNING_MAX_DUTY_FACTOR = 0.5

# --------------------------------------------------------------------------- clip fitness

MIN_STEPS = 6  # the issue: at least 6 steps
# A clip with the runner in view for less than this is called short when it has too few
# steps (the filming advice: 10-20 s of steady running).
SHORT_CLIP_S = 10.0
PERSON_VISIBLE_MIN_FRACTION = 0.7  # StrideLab heuristic: most of the clip must show the runner
WHOLE_BODY_MIN_FRACTION = 0.8  # StrideLab heuristic: feet or head cut off in >20 % of frames
FPS_MIN = 24.0  # below film rate even cadence events blur (StrideLab heuristic)
# RF: 60 fps or more for contact times and events; 55 accepts phones whose "60 fps" measures
# 57-59 in variable-frame-rate files.
FPS_MIN_CONTACT_TIME = 55.0
# Camera steadiness: the stance foot's path in the image must be a straight line (still on
# the ground, or carried at belt speed); residual in leg lengths (StrideLab heuristic: 3 cm).
STANCE_PATH_MAX_RESIDUAL_LEG = 0.03
# ... and the stance feet's height at mid-stance must scatter less than this about a smooth trend
# over the clip (robust SD, leg lengths; StrideLab heuristic: about 1.5 cm, five times what
# landmark noise leaves after filtering on synthetic runners).
STANCE_GROUND_MAX_SCATTER_LEG = 0.015
# Roll estimated stride by stride must not wander more than this (interquartile range; StrideLab
# heuristic: about the lateral-lean SDD of Dingenen 2018, 2.3 deg, rounded up).
CAMERA_ROLL_MAX_STD_DEG = 3.0
# The floor line is trusted only when the two feet's contact times agree within this fraction
# (StrideLab heuristic: 10 %, beyond that treadmill feet sit at different depths mid-stance).
ROLL_MAX_CONTACT_ASYMMETRY = 0.10
# ... and only when the camera is this close to square (StrideLab heuristic: at 3-4 deg off the
# perspective tilt of the floor line is already about 1 deg on synthetic runners).
ROLL_MAX_CAMERA_ANGLE_DEG = 2.0
# Two stance heels closer sideways than this (leg lengths) do not define a floor line
# (StrideLab heuristic: 4 cm, where 1 px of noise tilts it by about 1 deg).
ROLL_MIN_FEET_APART_LEG = 0.04
# A roll above this is worth a warning (StrideLab heuristic: a degree of roll moves pelvic drop
# and lateral lean by a degree, a third of their smallest detectable difference).
ROLL_WARN_DEG = 1.0
# The camera-steadiness path test uses the middle half of each stance (StrideLab heuristic: the
# foot rolls heel to toe at its ends): it trims stance/4 at each end.
STANCE_TRIM_DIVISOR = 4

# --------------------------------------------------------------------------- metric reporting

MIN_STRIDES_PER_SIDE = 3  # fewer and a per-side value is withheld (StrideLab heuristic)
# Dingenen 2018 (RF): average at least 7 steps a side; fewer gives a "low" quality flag.
GOOD_STRIDES_PER_SIDE = 7

# --------------------------------------------------------------------------- fault rules


@dataclass(frozen=True)
class Bands:
    """Severity bands on a metric: ``mild`` fires the fault; higher values escalate it."""

    mild: float
    moderate: float
    marked: float
    higher_is_worse: bool = True

    def severity(self, value: float) -> str | None:
        v = value if self.higher_is_worse else -value
        mild, moderate, marked = (
            (self.mild, self.moderate, self.marked)
            if self.higher_is_worse
            else (-self.mild, -self.moderate, -self.marked)
        )
        if v >= marked:
            return "marked"
        if v >= moderate:
            return "moderate"
        if v >= mild:
            return "mild"
        return None

    def fires(self, value: float) -> bool:
        return value >= self.mild if self.higher_is_worse else value <= self.mild


# Pelvic drop, deg. RF: healthy about 4.6 (McCarney 2020); flag from about 7 (moderate), marked
# from about 10; GaitLab flags at 6. So 6 = mild (GaitLab), 7 = moderate, 10 = marked.
PELVIC_DROP = Bands(mild=6.0, moderate=7.0, marked=10.0)

# Step width / leg length. RF: narrow below about 0.05, crossover at or below 0 in most steps.
# Marked (feet crossing by 5 % of leg length) is a StrideLab heuristic, symmetric to "narrow".
STEP_WIDTH = Bands(mild=0.05, moderate=0.0, marked=-0.05, higher_is_worse=False)
CROSSOVER_MOST_STEPS_FRACTION = 0.5  # RF: "at or below 0 in most steps"

# Wrist past the body midline / leg length. RF gives no number (thin evidence): 0.02 (about
# 2 cm past the zipper line, clear of wrist landmark jitter) is a StrideLab heuristic; RF caps it
# at mild unless crossover gait comes with it, when 0.02 / 0.08 escalate it.
ARM_CROSSOVER = Bands(mild=0.02, moderate=0.08, marked=0.15)

# Heel whip angle in early swing, deg. RF: "flag only when large and consistent", no number.
# StrideLab heuristic: 15 deg is three times the worst 2D tibia SDD (Dingenen 2018, 4.8 deg).
RECOVERY_EXTERNAL_ROTATION = Bands(mild=15.0, moderate=25.0, marked=35.0)
# And it must show in this fraction of the side's strides (RF: "large and consistent"; 60 % is a
# StrideLab heuristic, a clear majority).
RECOVERY_ER_CONSISTENT_FRACTION = 0.6

# Knee frontal-plane projection angle, deg. RF: 2D valgus does not track 3D knee abduction;
# report with low confidence. StrideLab heuristic: 10 / 15 / 20 deg, mild at twice the 2D tibia
# SDD (Dingenen 2018) and above the 5-8 deg typical of healthy runners' 2D FPPA.
KNEE_FPPA = Bands(mild=10.0, moderate=15.0, marked=20.0)
KNEE_FPPA_CONFIDENCE_CAP = 0.6  # RF: "low confidence"

# Foot ahead of hip at contact / leg length. RF: GaitLab heuristics 0.08 (watch) and 0.15 (flag);
# marked at 0.22 continues the same step (StrideLab heuristic).
FOOT_AHEAD_OF_HIP = Bands(mild=0.08, moderate=0.15, marked=0.22)
# Shank angle at contact, deg. RF: overstride above about 5-10 deg. At or above 10 it raises the
# overstride severity one level (confirming sign); alone at or above it fires a mild overstride.
SHANK_ANGLE_OVERSTRIDE_DEG = 10.0

# Cadence, steps/min. RF: flag below about 160 at easy pace; prescriptions are +5-10 %
# (Heiderscheit 2011, Bramah 2019), so moderate / marked at 5 % / 10 % under 160.
CADENCE = Bands(mild=160.0, moderate=152.0, marked=144.0, higher_is_worse=False)

# Forward trunk lean, deg. RF: no hard norm, hobby norms 2-10; StrideLab heuristic: mild above
# the hobby range, then 15 and 20.
TRUNK_FORWARD_LEAN = Bands(mild=10.0, moderate=15.0, marked=20.0)
# Lateral lean toward the stance side, deg. StrideLab heuristic: 5 deg is twice the largest SDD
# of lateral trunk lean (Dingenen 2018: 1.3-2.3 deg).
TRUNK_LATERAL_LEAN = Bands(mild=5.0, moderate=8.0, marked=12.0)
# Chain: "trunk lean to the stance side with little pelvic drop" (RF): little = under this
# (StrideLab heuristic: about the healthy mean of 4.6 deg, McCarney 2020).
LITTLE_PELVIC_DROP_DEG = 5.0

# Left/right asymmetry: a difference smaller than the smallest detectable difference is noise
# (RF, Dingenen 2018). Mild at 1 SDD, moderate at 2, marked at 3 (StrideLab heuristic).
ASYMMETRY_SDD: dict[str, float] = {
    "pelvic_drop_deg": 2.8,  # Dingenen 2018: 2.7-2.8
    "hip_adduction_deg": 3.8,  # Dingenen 2018: 2.3-3.8
    "trunk_lean_deg": 2.3,  # lateral lean, Dingenen 2018: 1.3-2.3
    # Side on, knee flexion at mid-stance: RF gives no SDD for it; 2D sagittal angles on
    # runners carry 5-8 deg RMSE (Van Hooren 2023), so the lower end.
    "knee_flexion_midstance_deg": 5.0,
    # No knee_fppa_deg: RF gives it no SDD and limits of agreement of -30 to +17 deg, and a
    # camera 2-3 deg off square moves one knee's reading by 10 deg: too weak to compare sides.
}
# Contact time asymmetry: larger than two frames at the clip's rate and than 8 % of the mean
# contact (StrideLab heuristic: RF gives one frame as the event timing uncertainty).
CONTACT_ASYMMETRY_MIN_FRAMES = 2.0
CONTACT_ASYMMETRY_MIN_FRACTION = 0.08

# Repeatability within the clip: a left/right difference (and a cadence under its threshold)
# counts only when it exceeds this many standard errors of itself, computed from the spread of
# the clip's own strides (about 95 % two-sided for normal data: Altman and Bland, 1995). A
# detector bias or a noisy clip cannot then pass for the athlete's asymmetry.
REPEATABILITY_Z = 2.0

# Asymmetry severity in multiples of the limit (SDD or the contact-time limit): mild at 1,
# moderate at 2, marked at 3 (StrideLab heuristic, as above).
ASYMMETRY_MODERATE_RATIO = 2.0
ASYMMETRY_MARKED_RATIO = 3.0

# Mid-stance trunk lean is the mean over the middle third of the stance (StrideLab heuristic:
# the trunk swings least there; RF "mid-stance").
MIDSTANCE_THIRDS = 3

# Fault confidence factors (StrideLab heuristics; RF: "show confidence").
# Stride-count factor: 0.4 with one stride rising to 1 at GOOD_STRIDES_PER_SIDE (StrideLab
# heuristic: few strides halve the confidence, never zero it).
COUNT_FACTOR_FLOOR = 0.4
# Visibility factor: full at this mean visibility (MediaPipe's typical for a clear limb), down to
# VIS_FACTOR_FLOOR at VISIBILITY_MIN (StrideLab heuristic).
VIS_FACTOR_FULL = 0.9
VIS_FACTOR_FLOOR = 0.2
# Chain links read from fewer signs than the full pattern are less sure (StrideLab heuristic):
CHAIN_FOOT_WITHOUT_HIP = 0.8  # knee or shank signs without the hip drop
CHAIN_LEAN_HIDES_HIP = 0.7  # lateral lean with little drop: an inference, not a sign
CHAIN_FEET_WITHOUT_ARMS = 0.6  # crossing feet, arms not shown
CHAIN_ARMS_WITHOUT_FEET = 0.5  # arms only: thin evidence (RF)
CHAIN_STRIDE_ONE_SIGN = 0.8  # overstride or low cadence alone
ARM_CROSSOVER_CONFIDENCE_CAP = 0.8  # RF: thin evidence
RECOVERY_ER_CONFIDENCE_CAP = 0.6  # RF: low confidence, out of plane
