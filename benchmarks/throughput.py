"""Probe throughput of the harness beside the stock facenet-pytorch pipeline, in one process.

Both pipelines do the same job on the same faces: real ``datasets/lfw-mini`` photographs, as a
shipped camera profile stores them (``ir-two-lane`` at its nominal 20 m: about 14 px between the
eyes on a 56 px canvas), detected, cropped, embedded and matched against a gallery.

stock
    What a user of facenet-pytorch would write: the stored image through Pillow (JPEG encode at
    the profile's quality and decode), ``MTCNN(image_size=160, margin=32)(images)`` on the
    batch, ``InceptionResnetV1`` (with the converted FaceNet-CASIA weights) in batches, and a
    matrix product with the gallery. With numpy 2, facenet-pytorch's batch call raises
    "inhomogeneous shape" when a batch mixes images with and without a face; such a batch is
    then detected image by image, and the table says in how many batches that happened.
harness
    The run itself: :meth:`~evalharness.evaluation.evaluator.Evaluator.evaluate` on one
    condition, timed by its own :class:`~evalharness.evaluation.timing.StageClock`, so the
    per-stage table is the one a run's ``manifest.json`` records (``load``, ``simulate``,
    ``detect``, ``embed``, ``match``, ``measures``, ``rows``). Its end to end includes the
    per-probe quality measures and rows, which the stock pipeline does not compute.
embedding bound
    ``InceptionResnetV1`` alone on ready 160 px crops: as facenet-pytorch runs it (the stock
    pipeline's network), and as the harness's recognizer runs it in float32 (batch norms folded,
    channels-last) and in bf16.

The stock pipeline and the harness run alternately, ``--rounds`` times each, and the median of
the rounds is reported, so that load from other processes falls on both alike; the load average
is printed. A scaling check then times the harness end to end at N and 2N probes and at one and
two conditions: the time per probe-condition should stay constant (linear growth).

Example::

    nice .venv/bin/python benchmarks/throughput.py --device cpu --probes 128 --batch 32 --threads 1
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import MTCNN, InceptionResnetV1
from PIL import Image

from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.experiment import Experiment
from evalharness.config.profile import load_profile
from evalharness.data.folder import open_dataset
from evalharness.data.images import load_image
from evalharness.evaluation.conditions import Condition, build_grid
from evalharness.evaluation.evaluator import Evaluator, References
from evalharness.evaluation.protocol import Image as Probe
from evalharness.evaluation.protocol import build_split
from evalharness.evaluation.timing import STAGES, device_name, synchronize
from evalharness.models import get_recognizer
from evalharness.models.align import extract_face
from evalharness.models.facenet import casia_weights
from evalharness.seeding import probe_generator

REPO = Path(__file__).resolve().parent.parent
SEED = 20261126


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: nice .venv/bin/python benchmarks/throughput.py "
                                            "--device cpu --probes 128 --threads 1")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--probes", type=int, default=128,
                        help="probe faces per pass (default 128; lfw-mini images repeat beyond 807)")
    parser.add_argument("--profile", default="ir-two-lane", help="camera profile (default ir-two-lane)")
    parser.add_argument("--distance-m", type=float, default=None,
                        help="face distance, metres (default: the profile's nominal)")
    parser.add_argument("--batch", type=int, default=32, help="faces per batch (default 32)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating stock / harness passes (default 3; median reported)")
    parser.add_argument("--numerics", default="fp32", choices=("fp32", "bf16", "auto"),
                        help="the harness recognizer's numerics (default fp32, the harness's own)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default torch's; 1 keeps CPU seconds free of "
                             "the spin-waiting of threads on a shared machine)")
    parser.add_argument("--dataset", type=Path, default=REPO / "datasets" / "lfw-mini")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling check")
    return parser.parse_args(argv)


class Clock:
    """Wall and process CPU seconds, summed over :meth:`run` calls.

    CPU seconds (all threads of this process) are much less disturbed than wall time by other
    processes sharing the cores, so both are reported.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.wall_s = 0.0
        self.cpu_s = 0.0

    def run(self, function: Callable[..., object], *args: object) -> object:
        """``function(*args)``, timed."""
        synchronize(self.device)
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        synchronize(self.device)
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.process_time() - cpu
        return result


def batches(count: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def harness_setup(args: argparse.Namespace, overrides: dict[str, float]) -> tuple[Evaluator, References, list[Probe], list[Condition]]:
    """The run's evaluator on ``args.dataset`` (LFW deep-funneled eyes, as the default experiment
    places faces), its references (untimed: a run computes them once), ``args.probes`` probes of
    the split (repeating when it has fewer) and two conditions: the profile as asked, then at a
    JPEG quality 10 higher (the scaling check's second condition)."""
    quality = load_profile(args.profile, overrides).jpeg_quality
    experiment = Experiment.model_validate({
        "name": "throughput", "dataset": str(args.dataset), "seed": SEED, "batch_size": args.batch,
        "source_eyes": "lfw-deepfunneled", "recognizer_options": {"numerics": args.numerics},
        "grid": [{"profiles": [args.profile], "sweep": {
            **{key: [value] for key, value in overrides.items()},
            "jpeg_quality": [quality, min(quality + 10, 100)]}}]})
    dataset = open_dataset(args.dataset)
    split = build_split(dataset.records, experiment.protocol, SEED)
    evaluator = Evaluator.load(experiment, dataset, split, args.device)
    probes = split.probes()
    return (evaluator, evaluator.references(), [probes[i % len(probes)] for i in range(args.probes)],
            build_grid(experiment, "throughput"))


def harness_pass(evaluator: Evaluator, references: References, probes: list[Probe],
                 conditions: list[Condition]) -> dict[str, Clock]:
    """The run's evaluation of ``probes`` under each condition: ``"end to end"`` (wall and CPU
    seconds) and each stage's wall seconds from the evaluator's own clock."""
    total = Clock(evaluator.device)
    stages = {stage: Clock(evaluator.device) for stage in STAGES}
    for condition in conditions:
        part = total.run(evaluator.evaluate, condition, probes, references)
        for stage, seconds in part.clock.seconds.items():
            stages[stage].wall_s += seconds
    return {**{stage: clock for stage, clock in stages.items() if clock.wall_s}, "end to end": total}


def stock_detect(mtcnn: MTCNN, pictures: list[Image.Image]) -> tuple[list[torch.Tensor | None], bool]:
    """``mtcnn(pictures)``, or image by image where facenet-pytorch's batch call fails (numpy 2:
    "inhomogeneous shape" when the batch mixes images with and without a face); True then."""
    try:
        return mtcnn(pictures), False
    except ValueError as error:
        if "inhomogeneous" not in str(error):
            raise
        return [mtcnn(picture) for picture in pictures], True


def stock_pass(stored: np.ndarray, quality: int, mtcnn: MTCNN, resnet: InceptionResnetV1,
               gallery: torch.Tensor, batch: int, device: torch.device) -> tuple[Clock, int]:
    """Time of the stock pipeline: Pillow JPEG, ``MTCNN(...)(images)``, embed, match; and the
    number of batches detected image by image (:func:`stock_detect`)."""
    fallbacks = 0

    def run() -> None:
        nonlocal fallbacks
        for part in batches(len(stored), batch):
            pictures = []
            for array in stored[part]:
                buffer = io.BytesIO()
                Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
                pictures.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
            detected, fell_back = stock_detect(mtcnn, pictures)
            fallbacks += fell_back
            crops = [face for face in detected if face is not None]
            if crops:
                with torch.inference_mode():
                    vectors = resnet(torch.stack(crops).to(device))
                (vectors @ gallery.T).cpu()
    clock = Clock(device)
    clock.run(run)
    return clock, fallbacks


def embedding_bound(crops: torch.Tensor, network: Callable[[torch.Tensor], torch.Tensor],
                    batch: int, device: torch.device) -> Clock:
    """Time of an embedding network alone on ready (standardised) 160 px crops."""
    clock = Clock(device)
    for part in crops.split(batch):
        clock.run(network, part.to(device, non_blocking=True))
    return clock


def peak_memory(device: torch.device) -> str:
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = f"peak RSS {rss_mib:,.0f} MiB"
    if device.type == "cuda":
        text += f"; peak GPU allocated {torch.cuda.max_memory_allocated(device) / 2**20:,.0f} MiB"
    return text


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    overrides = {} if args.distance_m is None else {"distance_m": args.distance_m}
    evaluator, references, probes, conditions = harness_setup(args, overrides)
    device = evaluator.device
    recognizer = evaluator.recognizers["facenet-casia"]
    profile = conditions[0].profile
    decoded = {p.relpath: load_image(evaluator.dataset.root / p.relpath) for p in set(probes)}
    sources = [decoded[p.relpath] for p in probes]

    # Stock gallery: the undegraded photographs, cropped at the fixed LFW eye box (untimed
    # set-up); the same crops feed the embedding-only bound.
    centre_box = np.array([80.0, 70.0, 170.0, 180.0])
    crops = torch.stack([extract_face(face, centre_box, 160, 32) for face in sources]) * 255
    crops = (crops - 127.5) / 128.0
    with torch.inference_mode():
        # On the device, where the stock pipeline's own embeddings are matched against it.
        gallery = torch.cat([recognizer.forward(part.to(device)).float()
                             for part in crops.split(args.batch)]).to(device)

    # Stock pipeline: facenet-pytorch as documented, CASIA weights, on the same stored images.
    mtcnn = MTCNN(image_size=160, margin=32, device=device)
    resnet = InceptionResnetV1().eval().to(device)
    resnet.load_state_dict(casia_weights()[0])
    stored = torch.cat([simulate(torch.stack(sources[part]).to(device),
                                 torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(part.stop - part.start, 1, 1),
                                 profile, [probe_generator(SEED, "c0", f"p{i}")
                                           for i in range(part.start, part.stop)]).images.cpu()
                        for part in batches(len(sources), args.batch)])
    stored = (stored * 255).round().to(torch.uint8).permute(0, 2, 3, 1).squeeze(-1).numpy()

    # The other numerics, for its embedding-only bound (fp32 where the device lacks bf16).
    other = get_recognizer("facenet-casia", device,
                           numerics="fp32" if recognizer.numerics == "bf16" else "auto")
    networks = {"stock network, fp32": torch.inference_mode()(resnet),
                f"harness, {recognizer.numerics}": recognizer.forward,
                f"harness, {other.numerics}": other.forward}

    # Warm-up (first calls allocate and pick kernels), then alternate.
    harness_pass(evaluator, references, probes[: args.batch], conditions[:1])
    stock_pass(stored[: args.batch], profile.jpeg_quality, mtcnn, resnet, gallery, args.batch, device)
    for network in networks.values():
        embedding_bound(crops[: args.batch], network, args.batch, device)
    load_before = os.getloadavg()
    rounds: list[dict[str, Clock]] = []
    fallbacks = 0
    stock = "stock facenet-pytorch end to end"
    for _ in range(args.rounds):
        clocks = {}
        clocks[stock], fell_back = stock_pass(stored, profile.jpeg_quality, mtcnn, resnet, gallery,
                                              args.batch, device)
        fallbacks = max(fallbacks, fell_back)
        stages = harness_pass(evaluator, references, probes, conditions[:1])
        clocks.update({f"harness {stage}": clock for stage, clock in stages.items()})
        clocks.update({f"embedding-only bound ({label})": embedding_bound(
            crops, network, args.batch, device) for label, network in networks.items()})
        rounds.append(clocks)
    load_after = os.getloadavg()

    n = args.probes
    wall = {label: statistics.median(r[label].wall_s for r in rounds) for label in rounds[0]}
    cpu = {label: statistics.median(r[label].cpu_s for r in rounds) for label in rounds[0]}
    print(f"device: {device_name(device)}; torch {torch.__version__}, "
          f"facenet-pytorch {facenet_pytorch_version()}; harness MTCNN fast path: "
          f"{evaluator.detectors['mtcnn'].fast}, recognizer numerics: {recognizer.numerics}")
    print(f"work: {n} lfw-mini probes, profile {profile.name} at {profile.distance_m} m, "
          f"batch {args.batch}, median of {args.rounds} alternating rounds")
    print(f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print(f"{'pipeline / stage':<44}{'wall s':>9}{'faces/s':>9}{'CPU s':>9}{'faces/CPU-s':>12}")
    for label, seconds in wall.items():
        # Stages are timed by the run's clock, in wall seconds only.
        timed_cpu = cpu[label] > 0
        print(f"{label:<44}{seconds:>9.2f}{n / seconds:>9.1f}"
              + (f"{cpu[label]:>9.2f}{n / cpu[label]:>12.1f}" if timed_cpu else f"{'-':>9}{'-':>12}"))
    if fallbacks:
        print(f"stock: facenet-pytorch's batch call failed in {fallbacks} of "
              f"{len(batches(n, args.batch))} batches (numpy 2, \"inhomogeneous shape\": faces and "
              "no faces in one batch); those batches were detected image by image")
    harness = "harness end to end"
    bound = f"embedding-only bound (harness, {recognizer.numerics})"
    print(f"harness speed / stock: {wall[stock] / wall[harness]:.2f}x wall, "
          f"{cpu[stock] / cpu[harness]:.2f}x CPU; "
          f"harness / embedding-only bound: {wall[bound] / wall[harness]:.0%} wall")
    print(peak_memory(device))

    if not args.no_scaling:
        print("scaling, harness end to end (second condition: JPEG quality "
              f"{conditions[1].profile.jpeg_quality} instead of {profile.jpeg_quality}):")
        print(f"{'probes':>8}{'conditions':>12}{'wall s':>9}{'CPU s':>9}{'CPU ms/probe-cond':>19}")
        for count, chosen in ((n, conditions[:1]), (2 * n, conditions[:1]), (n, conditions)):
            total = harness_pass(evaluator, references, (probes * 2)[:count], chosen)["end to end"]
            print(f"{count:>8}{len(chosen):>12}{total.wall_s:>9.2f}{total.cpu_s:>9.2f}"
                  f"{1000 * total.cpu_s / (count * len(chosen)):>19.2f}")


def facenet_pytorch_version() -> str:
    from importlib.metadata import version
    return version("facenet-pytorch")

if __name__ == "__main__":
    main()
