"""Head pose (yaw, pitch) from the five facial landmarks a detector gives.

A generic three-dimensional face (:data:`FACE_MODEL_IED`) is fitted to the landmarks under weak
perspective (scaled orthographic projection: faces far smaller than their distance to the
camera), by least squares over rotation, scale and image shift. Five points and six unknowns
leave four degrees of freedom of residual, so the fit is cheap and stable, but it is an estimate
of the *viewing direction* relative to the face, not a measurement of the head: the landmarks
carry a few pixels of detector error, and faces differ from the generic model.

Conventions (the same in ``sources.csv`` of a paired real-camera dataset):

- ``yaw_deg``: positive when the face is turned towards the image's right (its nose tip lies
  right of the eye midpoint), i.e. the camera sees more of the face's left-in-image side.
- ``pitch_deg``: positive when the camera is above the eyes (the face is seen from above, or the
  head is bowed: the nose tip drops towards the mouth in the image).

Accuracy on FRMDB's studio views, the check of this module, is in ``docs/VALIDATION.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

#: Generic positions of the five landmarks (left eye, right eye, nose tip, left and right mouth
#: corner, as MTCNN orders them), in units of the inter-eye distance, origin at the eye midpoint;
#: x to the image's right, y down, z towards a frontal camera. Proportions of adult faces
#: (Farkas, Anthropometry of the Head and Face, 1994: pupil to nose tip about 0.6 IED down and
#: 0.3 IED forward of the corneas; mouth width 0.8 IED, mouth corners about 1.1 IED below the
#: pupils, level with the corneas in depth).
FACE_MODEL_IED = np.array([
    [-0.5, 0.0, 0.0],
    [0.5, 0.0, 0.0],
    [0.0, 0.6, 0.3],
    [-0.4, 1.1, -0.05],
    [0.4, 1.1, -0.05],
])


@dataclass(frozen=True)
class HeadPose:
    """Viewing direction of one face: ``yaw_deg``, ``pitch_deg``, ``roll_deg`` (degrees, see
    the module's conventions) and ``residual_ied``: the fit's root-mean-square landmark error in
    units of the fitted inter-eye distance (large when the landmarks fit no face well)."""

    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    residual_ied: float


def _axis_rotations(yaw_rad: float, pitch_rad: float, roll_rad: float) -> tuple[np.ndarray, ...]:
    """The yaw, pitch and roll rotations ``(3, 3)`` and their derivatives by their angle."""
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    # Yaw turns the nose (+z) towards +x; pitch (camera above) turns +z towards +y (down).
    yaw = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])
    roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    d_yaw = np.array([[-sy, 0.0, cy], [0.0, 0.0, 0.0], [-cy, 0.0, -sy]])
    d_pitch = np.array([[0.0, 0.0, 0.0], [0.0, -sp, cp], [0.0, -cp, -sp]])
    d_roll = np.array([[-sr, -cr, 0.0], [cr, -sr, 0.0], [0.0, 0.0, 0.0]])
    return yaw, pitch, roll, d_yaw, d_pitch, d_roll


def _rotation(yaw_rad: float, pitch_rad: float, roll_rad: float) -> np.ndarray:
    """Rotation applied to :data:`FACE_MODEL_IED` to give the face as the camera sees it."""
    yaw, pitch, roll = _axis_rotations(yaw_rad, pitch_rad, roll_rad)[:3]
    return roll @ pitch @ yaw


def project_landmarks(*, yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0,
                      ied_px: float = 1.0) -> np.ndarray:
    """Image positions ``(5, 2)`` (x right, y down; pixels, eye midpoint at the origin) of the
    generic face seen at this pose, ``ied_px`` being its inter-eye distance when frontal."""
    rotated = FACE_MODEL_IED @ _rotation(*np.radians([yaw_deg, pitch_deg, roll_deg])).T
    return rotated[:, :2] * ied_px


def _residual(params: np.ndarray, target: np.ndarray, ied0: float) -> np.ndarray:
    """``(10,)``: the generic face at ``params`` (yaw, pitch, roll in radians, scale, dx, dy)
    minus the landmarks ``target (5, 2)``, in units of their inter-eye distance ``ied0``."""
    yaw, pitch, roll, scale, dx, dy = params
    model = FACE_MODEL_IED @ _rotation(yaw, pitch, roll).T
    return ((model[:, :2] * scale + [dx, dy]) - target).ravel() / ied0


def _jacobian(params: np.ndarray, target: np.ndarray, ied0: float) -> np.ndarray:
    """``(10, 6)``: :func:`_residual`'s derivatives by its parameters, analytic (a numerical
    one costs 6 more residual calls a step, and was most of a run's per-probe measures)."""
    yaw, pitch, roll, d_yaw, d_pitch, d_roll = _axis_rotations(*params[:3])
    turned = [FACE_MODEL_IED @ rotation.T for rotation in
              (roll @ pitch @ d_yaw, roll @ d_pitch @ yaw, d_roll @ pitch @ yaw)]
    columns = [column[:, :2] * params[3] for column in turned]
    columns.append((FACE_MODEL_IED @ (roll @ pitch @ yaw).T)[:, :2])
    columns += [np.tile([1.0, 0.0], (len(target), 1)), np.tile([0.0, 1.0], (len(target), 1))]
    return np.stack([column.ravel() for column in columns], axis=1) / ied0


def head_pose(landmarks_px: np.ndarray) -> HeadPose:
    """Fit the generic face to one face's landmarks.

    Parameters
    ----------
    landmarks_px : ndarray, shape (5, 2)
        Left eye, right eye, nose, left and right mouth corner (x, y), pixels.

    Returns
    -------
    HeadPose
        Yaw and pitch within +-90 degrees, roll within +-180.
    """
    points = np.asarray(landmarks_px, dtype=np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ValueError(f"landmarks must be 5 finite (x, y) points, got shape {points.shape}")
    eyes = points[1] - points[0]
    ied0 = max(float(np.hypot(*eyes)), 1e-6)
    centre = points[:2].mean(axis=0)
    start = np.array([0.0, 0.0, np.arctan2(eyes[1], eyes[0]), ied0, 0.0, 0.0])
    bound = np.radians(89.0)
    fit = least_squares(_residual, start, jac=_jacobian, args=(points - centre, ied0),
                        bounds=([-bound, -bound, -np.pi, 1e-6, -np.inf, -np.inf],
                                [bound, bound, np.pi, np.inf, np.inf, np.inf]))
    yaw, pitch, roll, scale = fit.x[:4]
    rms = float(np.sqrt(np.mean(fit.fun.reshape(5, 2) ** 2 * 2)) * ied0 / scale)
    return HeadPose(float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll)), rms)


def view_angles_deg(yaw_deg: float, pitch_deg: float, views_deg: np.ndarray) -> np.ndarray:
    """Angles ``(V,)`` in degrees between the pose and each view ``(V, 2)`` (yaw, pitch in
    degrees), measured between viewing directions on the sphere (so that yaw differences count
    less when seen from steeply above, as they should)."""
    def direction(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
        yaw, pitch = np.radians(yaw), np.radians(pitch)
        return np.stack([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)], -1)

    views = np.asarray(views_deg, dtype=np.float64).reshape(-1, 2)
    cosines = direction(views[:, 0], views[:, 1]) @ direction(np.float64(yaw_deg), np.float64(pitch_deg))
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def nearest_view(yaw_deg: float, pitch_deg: float, views_deg: np.ndarray) -> int:
    """Index of the view ``(V, 2)`` (yaw, pitch in degrees) nearest the pose
    (:func:`view_angles_deg`; the first of equally near ones)."""
    return int(np.argmin(view_angles_deg(yaw_deg, pitch_deg, views_deg)))
