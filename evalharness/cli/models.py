"""``evalharness models`` (the offline model zoo) and ``evalharness pairs`` (LFW verification)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import typer

from evalharness.cli.app import app, options, print_json, say
from evalharness.config.experiment import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER
from evalharness.errors import DataError

_JSON = typer.Option(False, "--json", help="Print one JSON object instead of text.")
_DEVICE = typer.Option("auto", "--device", help="auto (CUDA if available, else CPU), cpu or cuda.")


@app.command(epilog="Example: evalharness models --json")
def models(json_output: bool = _JSON) -> None:
    """List each model: whether it loads here offline, its weights file and sha256."""
    from evalharness.models.registry import list_models

    infos = list_models()
    if json_output:
        print_json([asdict(info) for info in infos])
        return
    for info in infos:
        status = "available" if info.available else "NOT AVAILABLE"
        typer.echo(f"{info.name:<17} {info.kind:<10} {status}")
        typer.echo(f"  path:   {info.path or '-'}")
        typer.echo(f"  sha256: {info.sha256 or '-'}")
        if info.lfw_accuracy is not None:
            typer.echo(f"  LFW accuracy: {info.lfw_accuracy:.4f} ({info.lfw_command})")
        if info.problem:
            typer.echo(f"  problem: {info.problem}")


@app.command(epilog=(
    "Example: evalharness pairs $LFW_DEVTRAIN/images "
    "$LFW_DEVTRAIN/pairsDevTrain.txt --recognizer facenet-casia"))
def pairs(
    dataset_dir: Path = typer.Argument(..., help="LFW images folder: NAME/NAME_0001.jpg."),
    pairs_file: Path = typer.Argument(..., help="pairs.txt (10 folds) or pairsDevTrain.txt."),
    recognizer: str = typer.Option(DEFAULT_RECOGNIZER, "--recognizer",
                                   help="facenet-casia, dlib-resnet, sface, "
                                        "facenet-vggface2[:FILE], onnx:SPEC.toml."),
    detector: str = typer.Option(DEFAULT_DETECTOR, "--detector",
                                 help="mtcnn, yunet, centerface or retinaface-mobile."),
    device: str = _DEVICE,
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Images per batch."),
    json_output: bool = _JSON,
) -> None:
    """LFW-style verification of a recognizer on a pairs file.

    Prints accuracy (10-fold cross-validated threshold when the file has folds, else the best
    single threshold), ROC AUC, TAR at FAR 1e-3, the number of pairs and how many images had no
    detected face (those are embedded from a centre crop and counted). Of several faces, the one
    nearest the image centre is used. Scores are cosine similarities.
    """
    from evalharness.data.lfw import lfw_image_path, read_pairs
    from evalharness.evaluation.verification import verify_pairs
    from evalharness.models.photos import embed_photos
    from evalharness.models.registry import get_detector, get_recognizer

    listed = read_pairs(pairs_file)
    keys = sorted({(p.name1, p.index1) for p in listed} | {(p.name2, p.index2) for p in listed})
    paths = [lfw_image_path(dataset_dir, name, index) for name, index in keys]
    absent = [str(path) for path in paths if not path.is_file()]
    if absent:
        raise DataError(f"{pairs_file}: {len(absent)} listed image(s) missing under "
                        f"{dataset_dir}, e.g. {absent[0]}")
    found_detector = get_detector(detector, device)
    found_recognizer = get_recognizer(recognizer, device)
    say(f"{len(listed)} pairs, {len(paths)} images; {found_recognizer.name} "
        f"(weights sha256 {found_recognizer.weights_sha256[:12]}...)")
    photos = embed_photos(paths, found_detector, found_recognizer, batch_size,
                          progress=None if options.quiet else _progress(len(paths)))
    row = {key: i for i, key in enumerate(keys)}
    first = photos.embeddings[[row[(p.name1, p.index1)] for p in listed]]
    second = photos.embeddings[[row[(p.name2, p.index2)] for p in listed]]
    has_folds = listed[0].fold is not None
    result = verify_pairs((first * second).sum(dim=1).numpy(), [p.is_mated for p in listed],
                          [p.fold for p in listed] if has_folds else None)
    no_face = int(photos.no_face.sum())
    if json_output:
        print_json({"accuracy": result.accuracy, "auc": result.auc,
                    "tar_at_far_1e-3": result.tar_at_far_1e_3, "pairs": result.pairs,
                    "no_face": no_face, "accuracy_std": result.accuracy_std,
                    "threshold": result.threshold, "folds": result.folds,
                    "images": len(paths), "recognizer": found_recognizer.name,
                    "recognizer_sha256": found_recognizer.weights_sha256,
                    "detector": found_detector.name,
                    "detector_sha256": found_detector.weights_sha256})
        return
    if has_folds:
        typer.echo(f"accuracy         {result.accuracy:.4f} +- {result.accuracy_std:.4f} "
                   f"({result.folds}-fold cross-validated threshold)")
    else:
        typer.echo(f"accuracy         {result.accuracy:.4f} (best single threshold "
                   f"{result.threshold:.4f}, chosen on these pairs)")
    typer.echo(f"ROC AUC          {result.auc:.4f}")
    typer.echo(f"TAR at FAR 1e-3  {result.tar_at_far_1e_3:.4f}")
    typer.echo(f"pairs            {result.pairs}")
    typer.echo(f"no face detected {no_face} of {len(paths)} images (centre crop used)")
    typer.echo(f"recognizer       {found_recognizer.name} sha256 {found_recognizer.weights_sha256}")
    typer.echo(f"detector         {found_detector.name} sha256 {found_detector.weights_sha256}")


def _progress(total: int) -> Callable[[int], None]:
    """A progress callback printing a line on stderr every tenth of the way."""
    step = max(total // 10, 1)
    state = {"next": step}

    def report(done: int) -> None:
        if done >= state["next"] or done == total:
            say(f"  {done}/{total} images")
            state["next"] = done - done % step + step

    return report
