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
    the module's conventions); ``residual_ied``: the fit's root-mean-square landmark error in
    units of the fitted inter-eye distance (large when the landmarks fit no face well); and
    ``ied_px``: the fitted face's inter-eye distance in pixels, i.e. the eye distance the face
    would show turned to the camera at the same scale (the landmarks' own eye distance shrinks
    with yaw by about cos(yaw)). On FRMDB's studio views, taken from one distance, it stays within
    0.95-1.16 of the frontal view's (medians per view) where the landmark distance falls to 0.64."""

    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    residual_ied: float
    ied_px: float


def _axis_rotations(yaw_rad: np.ndarray, pitch_rad: np.ndarray, roll_rad: np.ndarray) -> tuple[np.ndarray, ...]:
    """The yaw, pitch and roll rotations ``(..., 3, 3)`` of angles ``(...)`` and their
    derivatives by their angle."""
    cy, sy = np.cos(yaw_rad), np.sin(yaw_rad)
    cp, sp = np.cos(pitch_rad), np.sin(pitch_rad)
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    yaw, pitch, roll, d_yaw, d_pitch, d_roll = np.zeros((6, *np.shape(yaw_rad), 3, 3))
    # Yaw turns the nose (+z) towards +x; pitch (camera above) turns +z towards +y (down).
    yaw[..., 0, 0], yaw[..., 0, 2], yaw[..., 1, 1], yaw[..., 2, 0], yaw[..., 2, 2] = cy, sy, 1.0, -sy, cy
    pitch[..., 0, 0], pitch[..., 1, 1], pitch[..., 1, 2], pitch[..., 2, 1], pitch[..., 2, 2] = 1.0, cp, sp, -sp, cp
    roll[..., 0, 0], roll[..., 0, 1], roll[..., 1, 0], roll[..., 1, 1], roll[..., 2, 2] = cr, -sr, sr, cr, 1.0
    d_yaw[..., 0, 0], d_yaw[..., 0, 2], d_yaw[..., 2, 0], d_yaw[..., 2, 2] = -sy, cy, -cy, -sy
    d_pitch[..., 1, 1], d_pitch[..., 1, 2], d_pitch[..., 2, 1], d_pitch[..., 2, 2] = -sp, cp, -cp, -sp
    d_roll[..., 0, 0], d_roll[..., 0, 1], d_roll[..., 1, 0], d_roll[..., 1, 1] = -sr, -cr, cr, -sr
    return yaw, pitch, roll, d_yaw, d_pitch, d_roll


def _rotation(yaw_rad: np.ndarray, pitch_rad: np.ndarray, roll_rad: np.ndarray) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` applied to :data:`FACE_MODEL_IED` to give the face as the
    camera sees it."""
    yaw, pitch, roll = _axis_rotations(yaw_rad, pitch_rad, roll_rad)[:3]
    return roll @ pitch @ yaw


def project_landmarks(*, yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0,
                      ied_px: float = 1.0) -> np.ndarray:
    """Image positions ``(5, 2)`` (x right, y down; pixels, eye midpoint at the origin) of the
    generic face seen at this pose, ``ied_px`` being its inter-eye distance when frontal."""
    rotated = FACE_MODEL_IED @ _rotation(*np.radians([yaw_deg, pitch_deg, roll_deg])).T
    return rotated[:, :2] * ied_px


def _residual(params: np.ndarray, target: np.ndarray, ied0: np.ndarray) -> np.ndarray:
    """``(N, 10)``: the generic face at ``params (N, 6)`` (yaw, pitch, roll in radians, scale,
    dx, dy) minus the landmarks ``target (N, 5, 2)``, in units of their inter-eye distance
    ``ied0 (N,)``."""
    model = FACE_MODEL_IED @ np.swapaxes(_rotation(*params[:, :3].T), -1, -2)
    placed = model[..., :2] * params[:, 3, None, None] + params[:, None, 4:6]
    return (placed - target).reshape(len(params), -1) / ied0[:, None]


def _jacobian(params: np.ndarray, target: np.ndarray, ied0: np.ndarray) -> np.ndarray:
    """``(N, 10, 6)``: :func:`_residual`'s derivatives by its parameters, analytic (a numerical
    one costs 6 more residual calls a step)."""
    yaw, pitch, roll, d_yaw, d_pitch, d_roll = _axis_rotations(*params[:, :3].T)
    columns = [(FACE_MODEL_IED @ np.swapaxes(rotation, -1, -2))[..., :2] for rotation in
               (roll @ pitch @ d_yaw, roll @ d_pitch @ yaw, d_roll @ pitch @ yaw, roll @ pitch @ yaw)]
    columns = [column * params[:, 3, None, None] for column in columns[:3]] + columns[3:]
    shift = np.zeros((len(params), *target.shape[1:], 2))
    shift[..., 0, 0] = shift[..., 1, 1] = 1.0
    columns += [shift[..., 0], shift[..., 1]]
    return np.stack([column.reshape(len(params), -1) for column in columns], axis=-1) / ied0[:, None, None]


#: Bounds of the fit's parameters (yaw, pitch, roll in radians, scale, dx, dy).
_LOWER = np.array([-np.radians(89.0), -np.radians(89.0), -np.pi, 1e-6, -np.inf, -np.inf])
_UPPER = np.array([np.radians(89.0), np.radians(89.0), np.pi, np.inf, np.inf, np.inf])
#: Levenberg-Marquardt iterations at most, and the relative step at which a face has converged.
_MAX_ITERATIONS = 100
_STEP_TOLERANCE = 1e-10


def _levenberg_marquardt(start: np.ndarray, target: np.ndarray, ied0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unbounded least-squares fits ``(N, 6)`` of many faces at once from ``start (N, 6)``,
    and whether each converged ``(N,)``. Marquardt's damping is scaled by the normal matrix's
    diagonal, divided by 10 after a step that lowers the cost and multiplied by 10 after one that
    does not; a face is done when its step is below :data:`_STEP_TOLERANCE` of its parameters."""
    params, damping = start.copy(), np.full(len(start), 1e-3)
    residual = _residual(params, target, ied0)
    cost = (residual ** 2).sum(axis=1)
    done = np.zeros(len(start), bool)
    for _ in range(_MAX_ITERATIONS):
        if done.all():
            break
        active = np.flatnonzero(~done)
        jacobian = _jacobian(params[active], target[active], ied0[active])
        normal = np.swapaxes(jacobian, 1, 2) @ jacobian
        gradient = np.einsum("nki,nk->ni", jacobian, residual[active])
        diagonal = np.maximum(np.diagonal(normal, axis1=1, axis2=2), 1e-12)
        step = -np.linalg.solve(normal + damping[active, None, None] * np.eye(6) * diagonal[:, None, :],
                                gradient[..., None])[..., 0]
        trial = params[active] + step
        trial_residual = _residual(trial, target[active], ied0[active])
        trial_cost = (trial_residual ** 2).sum(axis=1)
        better = trial_cost <= cost[active]
        accepted = active[better]
        params[accepted], residual[accepted], cost[accepted] = trial[better], trial_residual[better], trial_cost[better]
        damping[active] = np.where(better, damping[active] / 10.0, damping[active] * 10.0)
        small = np.linalg.norm(step, axis=1) <= _STEP_TOLERANCE * (1.0 + np.linalg.norm(params[active], axis=1))
        done[active[small | (damping[active] > 1e12)]] = True
    return params, done


def head_poses(landmarks_px: np.ndarray) -> list[HeadPose]:
    """Fit the generic face to many faces' landmarks at once.

    Parameters
    ----------
    landmarks_px : ndarray, shape (N, 5, 2)
        Per face: left eye, right eye, nose, left and right mouth corner (x, y), pixels.

    Returns
    -------
    list of HeadPose
        One per face: yaw and pitch within +-90 degrees, roll within +-180.

    The fits run together (Levenberg-Marquardt, vectorised over faces); a face whose unbounded
    fit leaves the bounds (yaw or pitch beyond 89 degrees) or does not converge is fitted again
    alone by scipy's bounded trust-region solver (this module's only fit before). On real
    landmarks the two give the same pose within 0.01 degrees (``tests/quality/test_pose.py``):
    scipy stops at its default tolerances, the batched fit converges further.
    """
    points = np.asarray(landmarks_px, dtype=np.float64).reshape(-1, *np.shape(landmarks_px)[-2:])
    if points.shape[1:] != (5, 2) or not np.isfinite(points).all():
        raise ValueError(f"landmarks must be 5 finite (x, y) points, got shape {np.shape(landmarks_px)}")
    eyes = points[:, 1] - points[:, 0]
    ied0 = np.maximum(np.hypot(eyes[:, 0], eyes[:, 1]), 1e-6)
    target = points - points[:, :2].mean(axis=1, keepdims=True)
    start = np.zeros((len(points), 6))
    start[:, 2], start[:, 3] = np.arctan2(eyes[:, 1], eyes[:, 0]), ied0
    params, converged = _levenberg_marquardt(start, target, ied0)
    for i in np.flatnonzero(~converged | (params < _LOWER).any(axis=1) | (params > _UPPER).any(axis=1)):
        params[i] = least_squares(lambda x, i=i: _residual(x[None], target[i, None], ied0[i, None])[0],
                                  start[i], jac=lambda x, i=i: _jacobian(x[None], target[i, None], ied0[i, None])[0],
                                  bounds=(_LOWER, _UPPER)).x
    residual = _residual(params, target, ied0)
    rms = np.sqrt(np.mean(residual ** 2 * 2, axis=1)) * ied0 / params[:, 3]
    yaw, pitch, roll = np.degrees(params[:, :3]).T
    return [HeadPose(float(y), float(p), float(r), float(e), float(scale))
            for y, p, r, e, scale in zip(yaw, pitch, roll, rms, params[:, 3], strict=True)]


def head_pose(landmarks_px: np.ndarray) -> HeadPose:
    """Fit the generic face to one face's landmarks ``(5, 2)`` (:func:`head_poses`)."""
    if np.shape(landmarks_px) != (5, 2):
        raise ValueError(f"landmarks must be 5 finite (x, y) points, got shape {np.shape(landmarks_px)}")
    return head_poses(np.asarray(landmarks_px)[None])[0]


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
