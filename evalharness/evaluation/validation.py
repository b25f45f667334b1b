"""Real camera images against their simulation, probe by probe (``evalharness validate``).

For each real probe of a paired dataset (:mod:`evalharness.data.paired`):

1. *Real*: the face nearest the image centre is detected; its inter-eye distance (from the
   landmarks), head pose (:mod:`evalharness.quality.pose`) and identity scores against the
   gallery are measured.
2. *Source*: of the person's source photographs, the one whose view is nearest the real probe's
   pose (``sources.csv``, or the pose estimated from the source's own landmarks); or, with
   ``view_choice="frontal"``, the one nearest a frontal level view (what a run on one-view data
   does, to measure what matching the pose is worth); with ``view_choice="camera"``, the one
   nearest the camera's view of the face from the profile's geometry at the probe's distance
   (what a run with ``protocol.probe_view = "camera"`` does, knowing only the camera). A real probe
   with no detected face gets the view nearest the median pose of its camera group, and an
   inter-eye distance from its image width (the median ratio of detected probes of its group).
3. *Simulated*: the camera profile moved to the distance that gives the real inter-eye distance
   (:func:`~evalharness.camera.geometry.at_resolution`; with ``size="head"``, the default, the
   fitted face's, and the source's eyes spread to its own fitted distance, so that the simulated
   head is as large as the real one however each is turned), the source through
   :func:`~evalharness.camera.simulate.simulate`; the detection counts only where it overlaps the
   source face's own box carried through the camera (IoU >= 0.5), then the same recognizer and
   gallery as the real probe. Each probe is simulated ``draws`` times with independent noise
   (:func:`simulate_source`): one draw is one chance outcome, and on a few hundred probes the
   chance of one draw each moves the simulated rates by several points; the share of the draws
   identified is the probe's simulated outcome. Two more things a profile cannot know are taken from the real
   image, as the distance is (each can be switched off to measure what it is worth):
   - *exposure* (``exposure="skin"``): the light on the face is scaled until the simulated face's
     skin is stored as bright as the real one's (:func:`matched_exposure`). A camera's exposure is set
     by its whole scene (windows, lit walls), not by the face, so real faces are often far darker
     than a studio photograph: the development probes' faces have a median level of 74 DN (CCTV)
     and 104 DN (HD), the studio photographs through the profiles about 200. The skin is read at
     the landmarks; ``exposure="face"`` (the default until session 12) reads the box's centre,
     which holds hair and background that differ between studio and scene (docs/VALIDATION.md,
     "Exposure on the skin"). Where the landmarks miss the skin of the source or of the real probe (a
     turned face's far eye and nose tip placed beyond its silhouette: :func:`exposure_region`),
     that probe is matched on the lit skin of the box's centre instead, its brightest tenth
     (``sim_exposure_region = "lit"``; until session 33 the centre's median, ``"face"``);
   - *walking direction* (``walk="facing"``): people walk where their head faces (Grasso et al.
     1998, ``grasso-1998`` in ``docs/references.toml``), so ``subject_direction_deg`` is the real
     probe's |head yaw| from the camera: a face seen frontally walks towards the camera (no motion
     across the image), one seen in profile walks across it.

Rows (``probes.parquet``), one per real probe: ``identity``, ``relpath``, ``sha256`` (of the real
image, so that corrections applied to it can be told whether they were fitted on it), ``camera``;
``real_detected``, ``real_ied_px`` (the landmarks' inter-eye distance; the bins'),
``real_head_ied_px`` (the fitted face's, which does not shrink with yaw), ``ied_estimated`` (true
where both came from the image width), ``yaw_deg``, ``pitch_deg``, ``real_mate_rank``, ``real_mate_score``,
``real_best_nonmate_score``; ``camera_yaw_deg``, ``camera_pitch_deg`` (the camera's view of the
face from its profile's geometry at the solved distance); ``source``, ``source_yaw_deg``, ``source_pitch_deg``
(its view: ``sources.csv``'s, else the pose fit's), ``source_fitted_yaw_deg``, ``source_fitted_pitch_deg``
(the pose fit's reading of the source's landmarks, the instrument that reads ``yaw_deg`` on the
real probe, so that the two can be compared free of its bias), ``profile`` (the camera group's), ``distance_m``
(the solved distance), ``simulated`` (false with ``problem`` when the geometry could not reach
the IED), ``sim_subject_direction_deg`` and ``sim_motion_blur_px`` (the walking direction used
and the motion blur it gives), ``sim_exposure_scale`` (the factor on the profile's light on the
face), ``sim_exposure_region`` (where the light was matched: ``"skin"``, ``"lit"``, ``"face"`` or
``"profile"``), ``sim_detected``, ``sim_mate_rank``, ``sim_mate_score``, ``sim_best_nonmate_score`` (of
draw 0, whose image the contact sheet shows); ``sim_draws``, ``sim_detected_share``,
``sim_rank1_share``, ``sim_margin_mean`` (over all draws, :func:`draw_shares`);
``real_sharpness_dn2``, ``real_noise_dn``, ``real_level_dn``, ``real_lit_dn``, ``real_skin_dn`` and
their ``sim_`` twins: Laplacian energy, noise, the face's level (median) and its lit skin's
(:data:`~evalharness.quality.measures.LIT_QUANTILE`) on the centre of the face box, and the level
of its skin at its landmarks (:mod:`evalharness.quality.measures`), real on the detected box and
landmarks, simulated on the true box and the source's landmarks carried through the camera.
Scores are cosine similarities to the best gallery photograph of each person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from evalharness.camera.geometry import at_resolution, derive_geometry
from evalharness.camera.sensor import srgb_to_linear
from evalharness.camera.simulate import Capture, simulate
from evalharness.config.experiment import DEFAULT_VALIDATION_DRAWS
from evalharness.config.profile import CameraProfile, with_overrides
from evalharness.data.folder import FaceRecord
from evalharness.data.images import load_image
from evalharness.data.paired import PairedDataset
from evalharness.errors import ConfigError
from evalharness.evaluation.evaluator import png_bytes
from evalharness.evaluation.matching import (
    detected_faces,
    identity_scores,
    match_detections,
)
from evalharness.evaluation.metrics import mate_ranks
from evalharness.evaluation.originals import (
    cache_path,
    cached_arrays,
    numerics,
    save_arrays,
)
from evalharness.evaluation.validation_summary import IED_COLUMNS
from evalharness.models import Detector, Recognizer
from evalharness.models.photos import subject_face
from evalharness.quality.measures import LIT_QUANTILE, face_level_dn, face_measures, skin_level_dn
from evalharness.quality.pose import head_pose, nearest_view
from evalharness.seeding import probe_generator

#: Side of the thumbnails kept for the real | simulated contact sheet, pixels.
THUMBNAIL_PX = 96
#: The image measures stored for every real and simulated probe (``real_<name>``, ``sim_<name>``);
#: part of the cache key of the real probes' measures.
IMAGE_MEASURES = ("sharpness_dn2", "noise_dn", "level_dn", "lit_dn", "skin_dn")
#: Exposure matching (``exposure="skin"`` or ``"face"``): at most this many simulations of one probe, stopping
#: when its face level is within :data:`LEVEL_TOLERANCE_DN` of the real one's.
EXPOSURE_ITERATIONS = 5
LEVEL_TOLERANCE_DN = 2.0
#: The real face level that each exposure region matches (``probes.parquet`` columns).
REAL_LEVEL_COLUMNS = {"skin": "real_skin_dn", "face": "real_level_dn", "lit": "real_lit_dn"}
#: An image's skin discs read its skin when their level is within these factors of its face box's
#: centre, which lies on the face: the discs' median reads the backdrop once more than half of them
#: lie off the face, and a backdrop differs from lit skin by more than this (FRMDB development
#: sources: 0.59-1.62 where the landmarks lie on the face, 0.08-0.46 where a turned face's lie
#: beyond its silhouette; the real probes' turned faces alike; docs/VALIDATION.md).
SKIN_TO_FACE_LEVEL = (0.5, 2.0)


@dataclass(frozen=True)
class Face:
    """The subject's face in one image: box ``(4,)`` and landmarks ``(5, 2)`` in pixels,
    ``found`` False where nothing was detected, the estimated pose and ``head_ied_px``, the
    fitted face's inter-eye distance (:attr:`~evalharness.quality.pose.HeadPose.ied_px`; NaN
    where nothing was detected)."""

    box: np.ndarray
    landmarks: np.ndarray
    found: bool
    yaw_deg: float
    pitch_deg: float
    head_ied_px: float

    @property
    def ied_px(self) -> float:
        """The landmarks' eye distance (px): shrinks with yaw."""
        return float(np.hypot(*(self.landmarks[1] - self.landmarks[0]))) if self.found else float("nan")

    def placed_eyes_px(self, size: Literal["head", "eyes"]) -> np.ndarray:
        """The eye pair ``(2, 2)`` the camera places at its inter-eye distance: the landmarks'
        (``"eyes"``), or (``"head"``) spread about their midpoint to :attr:`head_ied_px`, so that
        the camera scales the head, not the foreshortened eye distance."""
        eyes = self.landmarks[:2].astype(np.float32)
        if size == "eyes" or not np.isfinite(self.head_ied_px):
            return eyes
        middle = eyes.mean(axis=0, dtype=np.float64)
        return (middle + (eyes - middle) * self.head_ied_px / max(self.ied_px, 1e-6)).astype(np.float32)


def find_face(image: torch.Tensor, detector: Detector) -> Face:
    """Detect ``image (3, H, W)`` alone and keep the face nearest its centre, with its pose."""
    box, landmarks, found = subject_face(detector.detect([image])[0], *image.shape[-2:])
    return _face(np.asarray(box, np.float32), np.asarray(landmarks, np.float32), bool(found))


def _face(box: np.ndarray, landmarks: np.ndarray, found: bool) -> Face:
    pose = head_pose(landmarks) if found else None
    nan = float("nan")
    return Face(box, landmarks, found, pose.yaw_deg if pose else nan, pose.pitch_deg if pose else nan,
                pose.ied_px if pose else nan)


def per_image(kind: str, key: dict[str, str], records: Sequence[FaceRecord],
              compute: Callable[[FaceRecord], dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """``compute(record)`` for each record, cached across runs by the file's sha256 under
    ``<cache>/embeddings/<kind>-<hash of key>.npz`` (``key``: the models and their weights)."""
    path = cache_path(kind, key)
    cached = cached_arrays(path) or {}
    known = {sha: i for i, sha in enumerate(cached.get("sha256", np.zeros(0, str)).tolist())}
    results, fresh = [], []
    for record in records:
        if record.sha256 in known:
            results.append({name: values[known[record.sha256]] for name, values in cached.items() if name != "sha256"})
        else:
            results.append(compute(record))
            fresh.append((record.sha256, results[-1]))
            known[record.sha256] = -1
    if fresh:
        added = {name: np.stack([value[name] for _, value in fresh]) for name in fresh[0][1]}
        added["sha256"] = np.array([sha for sha, _ in fresh], dtype=str)
        save_arrays(path, {name: np.concatenate([cached[name], added[name]]) if name in cached else added[name]
                           for name in added})
    return results


@dataclass(frozen=True)
class Match:
    """What a probe's simulation is matched to, measured on its real image: inter-eye distance
    (px), head yaw (degrees; sets the walking direction) and face levels (DN; set the exposure).
    A probe without a detected face carries its camera group's median |yaw| and levels."""

    ied_px: float
    yaw_deg: float
    #: The real face's level (DN) in each exposure region (:data:`REAL_LEVEL_COLUMNS`).
    levels_dn: dict[str, float]


@dataclass(frozen=True)
class Outcome:
    """Identity scores of one probe image: mate rank (ties pessimistic) and scores, NaN and
    None where undetected."""

    detected: bool
    mate_rank: int | None = None
    mate_score: float = float("nan")
    best_nonmate_score: float = float("nan")


def _outcome(vector: np.ndarray, gallery: np.ndarray, columns: np.ndarray, mate: int) -> Outcome:
    scores = identity_scores(vector[None], gallery, columns, int(columns.max()) + 1)[0]
    others = np.delete(scores, mate)
    return Outcome(True, int(mate_ranks(scores[None], [mate])[0]), float(scores[mate]), float(others.max()))


def draw_shares(outcomes: Sequence[Outcome]) -> dict[str, float | int]:
    """The row's draw columns from the outcomes of a probe's simulations: ``sim_draws``,
    ``sim_detected_share`` and ``sim_rank1_share`` (0-1), and ``sim_margin_mean``, the mean over
    draws of the margin (mate minus best non-mate score) where the face was detected, 0 where not
    (all 0 without a simulation)."""
    count = max(len(outcomes), 1)  # no simulation: no draw detected or identified
    return {"sim_draws": len(outcomes),
            "sim_detected_share": sum(o.detected for o in outcomes) / count,
            "sim_rank1_share": sum(o.mate_rank == 1 for o in outcomes) / count,
            "sim_margin_mean": sum(o.mate_score - o.best_nonmate_score for o in outcomes if o.detected) / count}


def _image_measures(image: torch.Tensor, box: np.ndarray, landmarks: np.ndarray | None) -> dict[str, float]:
    """:data:`IMAGE_MEASURES` of a face: on its box, sharpness (Laplacian energy, DN^2), noise (DN),
    level (median luma of its centre, DN) and the level of its lit skin (the centre's
    :data:`~evalharness.quality.measures.LIT_QUANTILE`, DN); at its landmarks ``(5, 2)``, the level
    of its skin (DN; NaN without landmarks); the camera-side measures that real and simulated probes
    at one inter-eye distance are compared by."""
    pixels = image.cpu().numpy()
    measures = face_measures(pixels, box)
    return {"sharpness_dn2": measures["sharpness_laplacian_dn2"], "noise_dn": measures["noise_sigma_dn"],
            "level_dn": face_level_dn(pixels, box),
            "lit_dn": face_level_dn(pixels, box, quantile=LIT_QUANTILE),
            "skin_dn": skin_level_dn(pixels, landmarks) if landmarks is not None else float("nan")}


def reads_skin(skin_dn: float, face_dn: float) -> bool:
    """Whether an image's skin discs (``skin_dn``, DN) read its skin: within
    :data:`SKIN_TO_FACE_LEVEL` times its face box's centre (``face_dn``, DN). False where the
    discs read nothing (NaN: all outside the image)."""
    low, high = SKIN_TO_FACE_LEVEL
    return bool(low <= skin_dn / max(face_dn, 1.0) <= high)


def exposure_region(image: torch.Tensor, source: Face, *, real_levels_dn: dict[str, float]
                    ) -> Literal["skin", "lit"]:
    """Where the light of a simulation from source ``image (3, H, W)`` (values in [0, 1]) is
    matched to its real probe's, whose levels are ``real_levels_dn`` (DN, :attr:`Match.levels_dn`):
    on the skin at the landmarks, unless those miss the skin of the source or of the real probe
    (:func:`reads_skin`), then on the lit skin of the box's centre, its brightest tenth. MTCNN
    places a turned face's far eye and nose tip beyond its silhouette, on the studio backdrop or the
    scene behind the real face; matching a backdrop's level to skin lights or darkens the face many
    times over (docs/VALIDATION.md, "Skin read off the face" and "The real faces' landmarks off the
    face"). The centre's median would match beard, glasses and hair as well, which a real face
    shows in other shares than its studio photograph ("The lit share of the face's centre")."""
    pixels = image.numpy()
    on_skin = reads_skin(skin_level_dn(pixels, source.landmarks), face_level_dn(pixels, source.box)) \
        and reads_skin(real_levels_dn["skin"], real_levels_dn["face"])
    return "skin" if on_skin else "lit"


def lit(profile: CameraProfile, scale: float) -> CameraProfile:
    """The profile with its light on the face multiplied by ``scale`` (``sim_exposure_scale``)."""
    return profile if scale == 1.0 else \
        with_overrides(profile, {"face_irradiance_w_m2": profile.face_irradiance_w_m2 * scale})


def ied_column(size: Literal["head", "eyes"]) -> str:
    """The row (``probes.parquet``) column whose inter-eye distance places the simulations of a
    validation made with ``size``: the fitted face's, or the landmarks' (:data:`IED_COLUMNS`)."""
    return IED_COLUMNS[size]


def simulate_source(image: torch.Tensor, source: Face, profile: CameraProfile, *, seed: int, camera: str,
                    key: str, size: Literal["head", "eyes"], draws: Sequence[int] = (0,)) -> Capture:
    """A source photograph ``image (3, H, W)`` with its detected face through ``profile``, as
    validate simulates the real probe ``key`` of camera group profile ``camera``, once per draw
    (batch ``(len(draws), ...)``): each draw's noise from the generator of (``seed``, camera,
    probe, draw), its true box the source face's own, its eyes placed as ``size`` says
    (:meth:`Face.placed_eyes_px`). Draw 0 is keyed by the probe alone, as every run before
    draws were added was."""
    generators = [probe_generator(seed, f"validate\x1f{camera}", key if draw == 0 else f"{key}\x1fdraw {draw}")
                  for draw in draws]
    count = len(generators)
    eyes = torch.from_numpy(source.placed_eyes_px(size)[None]).expand(count, -1, -1)
    boxes = torch.from_numpy(source.box[None].copy()).expand(count, -1)
    return simulate(image[None].expand(count, -1, -1, -1), eyes, profile, generators, source_boxes_px=boxes)


def capture_landmarks(source: Face, size: Literal["head", "eyes"], capture: Capture) -> np.ndarray:
    """The source face's five landmarks ``(5, 2)`` where the camera put them in ``capture``
    (pixels): the simulation only scales and shifts its source, so the map that takes the placed
    eyes (:meth:`Face.placed_eyes_px`) to the capture's eyes takes every landmark."""
    placed = source.placed_eyes_px(size).astype(np.float64)
    stored = capture.eyes_px[0].cpu().numpy().astype(np.float64)
    scale = np.hypot(*(stored[1] - stored[0])) / max(np.hypot(*(placed[1] - placed[0])), 1e-9)
    return stored.mean(axis=0) + (source.landmarks.astype(np.float64) - placed.mean(axis=0)) * scale


def matched_exposure(simulate_at: Callable[[float], Capture], target_dn: float, tone_curve: str,
                     level_of: Callable[[Capture], float]) -> tuple[Capture, float, float]:
    """The capture whose face is as bright as a real one's: ``(capture, scale, level_dn)``.

    ``simulate_at(scale)`` simulates with the light on the face multiplied by ``scale``;
    ``target_dn`` is the real face's level as ``level_of(capture)`` measures a capture's
    (:meth:`Validation.level_of`).
    Below full well the stored signal is proportional to the light, so each step multiplies the
    scale by the ratio of the target's and the capture's linear levels (through the profile's
    ``tone_curve``); clipping makes one step fall short, hence up to :data:`EXPOSURE_ITERATIONS`.
    """
    def linear(level_dn: float) -> float:
        value = torch.tensor(max(level_dn, 1.0) / 255.0, dtype=torch.float64)
        return float(srgb_to_linear(value) if tone_curve == "srgb" else value)

    scale = 1.0
    for attempt in range(EXPOSURE_ITERATIONS):
        capture = simulate_at(scale)
        level_dn = level_of(capture)
        if abs(level_dn - target_dn) <= LEVEL_TOLERANCE_DN or attempt == EXPOSURE_ITERATIONS - 1:
            break
        scale *= linear(target_dn) / linear(level_dn)
    return capture, scale, level_dn


@dataclass
class Validation:
    """What comparing a camera profile with real images needs; evaluates, writes nothing."""

    dataset: PairedDataset
    #: The camera profile of each camera group (``probes.csv``); ``"*"`` serves every group.
    profiles: dict[str, CameraProfile]
    detector: Detector
    recognizer: Recognizer
    seed: int
    #: "pose": the source view nearest each real probe's head pose; "frontal": the view nearest
    #: frontal and level for every probe, as an ordinary run on one-view data (LFW) does;
    #: "camera": the view nearest the camera's own, from its profile's geometry.
    view_choice: Literal["pose", "frontal", "camera"] = "pose"
    #: "face": the light on each simulated face is scaled until the face is stored as bright as
    #: its real probe's (:func:`matched_exposure`), measured on the centre of the face box;
    #: "skin": the same, measured on the face's skin (:func:`~evalharness.quality.measures.skin_level_dn`);
    #: "profile": the profile's light as it is.
    exposure: Literal["face", "skin", "profile"] = "skin"
    #: "facing": each subject walks where the head faces (``grasso-1998``), so the walking
    #: direction is the real probe's measured head yaw from the camera
    #: (``subject_direction_deg = |yaw|``); "profile": the profile's ``subject_direction_deg``.
    walk: Literal["facing", "profile"] = "facing"
    #: "head": the simulated head is as large as the real one: the profile is set to the real
    #: probe's fitted inter-eye distance (``real_head_ied_px``) and the source's eyes are spread to
    #: its own (:meth:`Face.placed_eyes_px`); "eyes": the landmarks' eye distances are matched,
    #: which makes a source turned less than its real probe too small by the ratio of the cosines.
    size: Literal["head", "eyes"] = "head"
    #: Simulations of each real probe, with independent noise (:func:`simulate_source`): its
    #: simulated outcome is the share of them identified, so that the simulated rates do not
    #: carry the chance of one noise draw per probe.
    draws: int = DEFAULT_VALIDATION_DRAWS

    def level_of(self, capture: Capture, source: Face, region: Literal["skin", "face", "lit"]) -> float:
        """A capture's face level in ``region`` as :data:`REAL_LEVEL_COLUMNS` reads the real one
        (DN): on the skin at the source's landmarks carried through the camera, or on the centre of
        the true box (its median, or for ``"lit"`` its lit skin)."""
        pixels = capture.images[0].cpu().numpy()
        if region == "skin":
            return skin_level_dn(pixels, capture_landmarks(source, self.size, capture))
        quantile = LIT_QUANTILE if region == "lit" else 0.5
        return face_level_dn(pixels, capture.face_boxes[0].numpy(), quantile=quantile)

    @property
    def ied_column(self) -> str:
        """The row's inter-eye distance that sets each simulation's (and camera view's) distance."""
        return ied_column(self.size)

    def run(self, progress: Callable[[str], None] = lambda message: None
            ) -> tuple[pd.DataFrame, dict[str, bytes]]:
        """Rows (see the module docstring) and thumbnails ``{"samples/<...>.png": bytes}``."""
        detector_key = {"name": self.detector.name, "sha256": self.detector.weights_sha256}
        embed_key = detector_key | {"recognizer": self.recognizer.name, "weights": self.recognizer.weights_sha256,
                                    "numerics": numerics(self.recognizer), "measures": ",".join(IMAGE_MEASURES)}
        gallery_records = self.dataset.gallery.records
        progress(f"gallery: {len(gallery_records)} photographs")
        gallery = np.stack([found["embedding"] for found in
                            per_image("validation-embedded", embed_key, gallery_records, self._embedded)])
        people = sorted({r.identity for r in gallery_records})
        column = {name: i for i, name in enumerate(people)}
        columns = np.array([column[r.identity] for r in gallery_records])

        progress(f"sources: {len(self.dataset.sources.records)} photographs")
        faces = per_image("validation-faces", detector_key, self.dataset.sources.records, self._detected)
        sources = {r.relpath: (r, _face(f["box"], f["landmarks"], bool(f["found"])))
                   for r, f in zip(self.dataset.sources.records, faces, strict=True)}
        progress(f"real probes: {len(self.dataset.probes.records)} images")
        real = []
        for record, found in zip(self.dataset.probes.records, per_image(
                "validation-embedded", embed_key, self.dataset.probes.records, self._embedded), strict=True):
            face = _face(found["box"], found["landmarks"], bool(found["found"]))
            outcome = _outcome(found["embedding"], gallery, columns, column[record.identity]) \
                if face.found else Outcome(False)
            real.append((record, int(found["width_px"]), face, outcome,
                         {f"real_{name}": float(found[name]) for name in IMAGE_MEASURES}))

        poses: dict[str, list[tuple[float, ...]]] = {}
        for record, _, face, _, measured in real:
            if face.found:
                poses.setdefault(self.dataset.camera_of(record.relpath), []).append(
                    (face.yaw_deg, face.pitch_deg, abs(face.yaw_deg),
                     *(measured[column] for column in REAL_LEVEL_COLUMNS.values())))
        # What a probe without a detected face borrows: its camera group's median pose (for the
        # view), |yaw| (for the walking direction: faces turned left and right both walk across)
        # and levels (also for a detected face whose level could not be read).
        camera_median = {camera: tuple(np.nanmedian(values, axis=0)) for camera, values in poses.items()}
        camera_pose = {camera: values[:2] for camera, values in camera_median.items()}
        rows, samples = [], {}
        for record, width_px, face, outcome, measured in real:
            row = self._real_row(record, face, outcome, width_px, real) | measured
            row |= dict(zip(("camera_yaw_deg", "camera_pitch_deg"),
                            self._camera_view(row["camera"], row[self.ied_column]), strict=True))
            chosen = self._source(record.identity, row, sources, camera_pose)
            source_record, source_face = sources[chosen]
            row |= {"source": source_record.relpath, **self._view(source_record.relpath, source_face),
                    "source_fitted_yaw_deg": source_face.yaw_deg, "source_fitted_pitch_deg": source_face.pitch_deg}
            median = camera_median.get(row["camera"], (np.nan,) * (3 + len(REAL_LEVEL_COLUMNS)))
            yaw_deg = row["yaw_deg"] if face.found else median[2]
            # No face, or one whose skin lies off the image: its camera group's median level.
            levels_dn = {region: row[column] if face.found and np.isfinite(row[column]) else median[3 + i]
                         for i, (region, column) in enumerate(REAL_LEVEL_COLUMNS.items())}
            row |= self._simulated(record.relpath, self.profile_of(row["camera"]), source_record, source_face,
                                   Match(row[self.ied_column], yaw_deg, levels_dn),
                                   gallery, columns, column[record.identity], samples)
            samples[f"samples/real/{record.relpath}.png"] = png_bytes(load_image(record.path), THUMBNAIL_PX)
            rows.append(row)
            progress(f"{record.relpath}: real {'rank %s' % outcome.mate_rank if face.found else 'undetected'}"
                     f", simulated {'rank %s' % row['sim_mate_rank'] if row['sim_detected'] else 'undetected'}")
        return pd.DataFrame.from_records(rows).astype({"real_mate_rank": "Int64", "sim_mate_rank": "Int64"}), samples

    def _detected(self, record: FaceRecord, image: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        face = find_face(load_image(record.path) if image is None else image, self.detector)
        return {"box": face.box, "landmarks": face.landmarks, "found": np.bool_(face.found)}

    def _embedded(self, record: FaceRecord) -> dict[str, np.ndarray]:
        """The central face (or the centre box) embedded, as for a gallery photograph."""
        image = load_image(record.path)
        found = self._detected(record, image) | {"width_px": np.int64(image.shape[-1])}
        landmarks = found["landmarks"] if found["found"] else None
        found |= {name: np.float64(value) for name, value in _image_measures(image, found["box"], landmarks).items()}
        embedding = self.recognizer.embed([image], found["box"][None], found["landmarks"][None])
        return found | {"embedding": embedding.numpy()[0]}

    def _real_row(self, record: Any, face: Face, outcome: Outcome, width_px: int,
                  real: list[tuple[Any, int, Face, Outcome, dict[str, float]]]) -> dict[str, Any]:
        camera = self.dataset.camera_of(record.relpath)

        def measured(of: Callable[[Face], float]) -> float:
            """``of(face)``, or for an undetected face its camera group's median share of the
            image width times this image's width."""
            if face.found:
                return of(face)
            ratios = [of(f) / width for r, width, f, _, _ in real
                      if f.found and self.dataset.camera_of(r.relpath) == camera]
            return float(np.median(ratios)) * width_px if ratios else float("nan")

        return {"identity": record.identity, "relpath": record.relpath, "sha256": record.sha256, "camera": camera,
                "real_detected": face.found, "real_ied_px": measured(lambda f: f.ied_px),
                "real_head_ied_px": measured(lambda f: f.head_ied_px), "ied_estimated": not face.found,
                "yaw_deg": face.yaw_deg, "pitch_deg": face.pitch_deg,
                "real_mate_rank": outcome.mate_rank, "real_mate_score": outcome.mate_score,
                "real_best_nonmate_score": outcome.best_nonmate_score}

    def _view(self, relpath: str, face: Face) -> dict[str, float]:
        """A source's view: from ``sources.csv``, else estimated from its landmarks."""
        view = self.dataset.views.get(relpath)
        return {"source_yaw_deg": view.yaw_deg if view else face.yaw_deg,
                "source_pitch_deg": view.pitch_deg if view else face.pitch_deg}

    def _source(self, identity: str, row: dict[str, Any], sources: dict[str, tuple[Any, Face]],
                camera_pose: dict[str, tuple[float, float]]) -> str:
        """The source whose view is nearest the probe's pose (its camera's median pose when
        the probe has none), frontal, or the camera's view, as ``view_choice`` says; sources with no
        detected face only when nothing else is left."""
        candidates = [path for path, (record, face) in sources.items()
                      if record.identity == identity and face.found] or \
                     [record.relpath for record in self.dataset.sources_of(identity)]
        yaw, pitch = {"pose": (row["yaw_deg"], row["pitch_deg"]), "frontal": (0.0, 0.0),
                      "camera": (row["camera_yaw_deg"], row["camera_pitch_deg"])}[self.view_choice]
        if not np.isfinite(yaw):
            yaw, pitch = camera_pose.get(row["camera"], (0.0, 0.0))
        views = [list(self._view(path, sources[path][1]).values()) for path in candidates]
        views = np.nan_to_num(np.array(views, dtype=np.float64))
        return candidates[nearest_view(yaw, pitch, views)]

    def _camera_view(self, camera: str, ied_px: float) -> tuple[float, float]:
        """(yaw, pitch) in degrees of the camera group's view of the face, from its profile's
        geometry at the distance that gives ``ied_px`` (the nominal distance where none does)."""
        profile = self.profile_of(camera)
        try:
            profile = at_resolution(profile, ied_px=ied_px) if np.isfinite(ied_px) else profile
        except ConfigError:
            pass  # _simulated reports the unreachable IED; the view is the nominal one's
        geometry = derive_geometry(profile)
        return geometry.yaw_deg, geometry.pitch_deg

    def profile_of(self, camera: str) -> CameraProfile:
        """The profile that simulates a camera group's probes."""
        return self.profiles.get(camera) or self.profiles["*"]

    def _simulated(self, key: str, camera: CameraProfile, source_record: Any, source: Face, match: Match,
                   gallery: np.ndarray, columns: np.ndarray, mate: int,
                   samples: dict[str, bytes]) -> dict[str, Any]:
        empty = {"profile": camera.name, "distance_m": float("nan"), "simulated": False, "problem": None,
                 "sim_detected": False, "sim_subject_direction_deg": float("nan"), "sim_motion_blur_px": float("nan"),
                 "sim_exposure_scale": float("nan"), "sim_exposure_region": None,
                 **{f"sim_{name}": float("nan") for name in IMAGE_MEASURES},
                 "sim_mate_rank": None, "sim_mate_score": float("nan"), "sim_best_nonmate_score": float("nan"),
                 **draw_shares([])}
        if not np.isfinite(match.ied_px):
            return empty | {"problem": "no inter-eye distance (no real probe of its camera detected)"}
        try:
            profile = at_resolution(camera, ied_px=match.ied_px)
        except ConfigError as error:
            return empty | {"problem": str(error)}
        if self.walk == "facing" and np.isfinite(match.yaw_deg):
            profile = with_overrides(profile, {"subject_direction_deg": min(abs(match.yaw_deg), 180.0)})
        image = load_image(source_record.path)

        def simulate_at(scale: float, draws: Sequence[int] = (0,)) -> Capture:
            return simulate_source(image, source, lit(profile, scale), seed=self.seed, camera=camera.name, key=key,
                                   size=self.size, draws=draws)

        region = exposure_region(image, source, real_levels_dn=match.levels_dn) if self.exposure == "skin" \
            else self.exposure
        if region != "profile" and np.isfinite(match.levels_dn[region]):
            capture, scale, _ = matched_exposure(simulate_at, match.levels_dn[region], profile.tone_curve,
                                                 lambda capture: self.level_of(capture, source, region))
        else:
            capture, scale, region = simulate_at(1.0), 1.0, "profile"
        stored, boxes = capture.images.expand(-1, 3, -1, -1), capture.face_boxes
        if self.draws > 1:  # the other draws at the light found for draw 0
            more = simulate_at(scale, range(1, self.draws))
            stored, boxes = torch.cat([stored, more.images.expand(-1, 3, -1, -1)]), torch.cat([boxes, more.face_boxes])
        outcomes = self._identified(stored, boxes, gallery, columns, mate)
        samples[f"samples/simulated/{key}.png"] = png_bytes(capture.images[0], THUMBNAIL_PX)
        first = outcomes[0]
        return empty | {
            "profile": camera.name, "distance_m": profile.distance_m, "simulated": True,
            "sim_subject_direction_deg": profile.subject_direction_deg,
            "sim_motion_blur_px": derive_geometry(profile).motion_blur_px, "sim_exposure_scale": scale,
            "sim_exposure_region": region,
            **{f"sim_{name}": value for name, value in
               _image_measures(stored[0], capture.face_boxes[0].numpy(),
                               capture_landmarks(source, self.size, capture)).items()},
            "sim_detected": first.detected, "sim_mate_rank": first.mate_rank, "sim_mate_score": first.mate_score,
            "sim_best_nonmate_score": first.best_nonmate_score, **draw_shares(outcomes)}

    def _identified(self, stored: torch.Tensor, boxes: torch.Tensor, gallery: np.ndarray, columns: np.ndarray,
                    mate: int) -> list[Outcome]:
        """The outcome of each simulated image ``stored (D, 3, S, S)`` whose true face box is
        ``boxes (D, 4)``: detected where a detection overlaps it, then identified."""
        hits = match_detections(self.detector.detect(stored), boxes.double())
        found, face_boxes, landmarks = detected_faces(hits)
        outcomes = [Outcome(False)] * len(hits)
        if found:
            vectors = self.recognizer.embed(stored[found], face_boxes, landmarks).numpy()
            for index, vector in zip(found, vectors, strict=True):
                outcomes[index] = _outcome(vector, gallery, columns, mate)
        return outcomes
