"""Probe throughput of the harness beside the stock facenet-pytorch pipeline, in one process.

Both pipelines do the same job on the same faces: real ``datasets/lfw-mini`` photographs, as a
shipped camera profile stores them (``ir-two-lane`` at its nominal 20 m: about 14 px between the
eyes on a 56 px canvas), detected, cropped, embedded and matched against a gallery.

stock
    What a user of facenet-pytorch would write: the stored image through Pillow (JPEG encode at
    the profile's quality and decode), ``MTCNN(image_size=160, margin=32)(images)`` on the
    batch, ``InceptionResnetV1`` (with the converted FaceNet-CASIA weights) in batches, and a
    matrix product with the gallery.
harness
    The evaluation runner's own stages: ``simulate`` (the whole camera model, JPEG included),
    ``detect`` (:class:`~evalharness.models.mtcnn.MtcnnDetector`), ``embed`` (crop, align and
    embed with the recognizer as the registry loads it) and ``match`` (IoU with the true box,
    then :func:`~evalharness.evaluation.evaluator.identity_scores`).
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
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import MTCNN, InceptionResnetV1
from PIL import Image
from torchvision.ops import box_iou

from evalharness.camera.simulate import LFW_DEEPFUNNELED_EYES_PX, simulate
from evalharness.config.profile import CameraProfile, load_profile
from evalharness.data.folder import open_dataset
from evalharness.data.images import load_image
from evalharness.evaluation.evaluator import MIN_IOU, identity_scores
from evalharness.models import get_detector, get_recognizer, resolve_device
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


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


def load_sources(dataset: Path, count: int) -> list[torch.Tensor]:
    """``count`` photographs of ``dataset`` in manifest order (repeating when it has fewer)."""
    records = open_dataset(dataset).records
    cache: dict[int, torch.Tensor] = {}
    chosen = [i % len(records) for i in range(count)]
    for i in chosen:
        if i not in cache:
            cache[i] = load_image(records[i].path)
    return [cache[i] for i in chosen]


def batches(count: int, size: int) -> list[slice]:
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def harness_pass(sources: list[torch.Tensor], profiles: list[CameraProfile], detector, recognizer,
                 gallery: np.ndarray, batch: int, device: torch.device) -> dict[str, Clock]:
    """Time spent in each runner stage over every probe and condition."""
    clocks = {stage: Clock(device) for stage in ("simulate", "detect", "embed", "match")}
    columns = np.arange(len(gallery))
    eyes_all = torch.tensor(LFW_DEEPFUNNELED_EYES_PX).repeat(len(sources), 1, 1)
    for condition, profile in enumerate(profiles):
        for part in batches(len(sources), batch):
            faces = torch.stack(sources[part]).to(device)
            generators = [probe_generator(SEED, f"c{condition}", f"p{i}")
                          for i in range(part.start, part.stop)]
            capture = clocks["simulate"].run(simulate, faces, eyes_all[part], profile, generators)
            images = capture.images.expand(-1, 3, -1, -1)
            found = clocks["detect"].run(detector.detect, images)
            hits = [(i, int(np.argmax(iou))) for i, iou in enumerate(_ious(found, capture.face_boxes))
                    if iou.size and iou.max() >= MIN_IOU]
            if not hits:
                continue
            boxes = np.stack([found[i].boxes[j] for i, j in hits])
            points = np.stack([found[i].landmarks[j] for i, j in hits])
            vectors = clocks["embed"].run(recognizer.embed, images[[i for i, _ in hits]], boxes,
                                          points)
            clocks["match"].run(identity_scores, vectors.numpy(), gallery, columns, len(gallery))
    return clocks


def _ious(found, true_boxes: torch.Tensor) -> list[np.ndarray]:
    return [box_iou(torch.from_numpy(d.boxes).double(), truth[None].double().cpu()).numpy()[:, 0]
            if len(d) else np.zeros(0) for d, truth in zip(found, true_boxes, strict=True)]


def stock_pass(stored: np.ndarray, quality: int, mtcnn: MTCNN, resnet: InceptionResnetV1,
               gallery: torch.Tensor, batch: int, device: torch.device) -> Clock:
    """Time of the stock pipeline: Pillow JPEG, ``MTCNN(...)(images)``, embed, match."""
    def run() -> None:
        for part in batches(len(stored), batch):
            pictures = []
            for array in stored[part]:
                buffer = io.BytesIO()
                Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
                pictures.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
            crops = [face for face in mtcnn(pictures) if face is not None]
            if crops:
                with torch.inference_mode():
                    vectors = resnet(torch.stack(crops).to(device))
                (vectors @ gallery.T).cpu()
    clock = Clock(device)
    clock.run(run)
    return clock


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


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    overrides = {} if args.distance_m is None else {"distance_m": args.distance_m}
    profile = load_profile(args.profile, overrides)
    detector = get_detector("mtcnn", device)
    recognizer = get_recognizer("facenet-casia", device, numerics=args.numerics)
    sources = load_sources(args.dataset, args.probes)

    # Gallery: the undegraded photographs, cropped at the fixed LFW eye box (untimed set-up);
    # the same crops feed the embedding-only bound.
    centre_box = np.array([80.0, 70.0, 170.0, 180.0])
    crops = torch.stack([extract_face(face, centre_box, 160, 32) for face in sources]) * 255
    crops = (crops - 127.5) / 128.0
    with torch.inference_mode():
        gallery = torch.cat([recognizer.forward(part.to(device)).float().cpu()
                             for part in crops.split(args.batch)]).numpy()

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
    gallery_t = torch.from_numpy(gallery).to(device)

    # The other numerics, for its embedding-only bound (fp32 where the device lacks bf16).
    other = get_recognizer("facenet-casia", device,
                           numerics="fp32" if recognizer.numerics == "bf16" else "auto")
    networks = {"stock network, fp32": torch.inference_mode()(resnet),
                f"harness, {recognizer.numerics}": recognizer.forward,
                f"harness, {other.numerics}": other.forward}

    # Warm-up (first calls allocate and pick kernels), then alternate.
    harness_pass(sources[: args.batch], [profile], detector, recognizer, gallery, args.batch, device)
    stock_pass(stored[: args.batch], profile.jpeg_quality, mtcnn, resnet, gallery_t, args.batch, device)
    for network in networks.values():
        embedding_bound(crops[: args.batch], network, args.batch, device)
    load_before = os.getloadavg()
    rounds: list[dict[str, Clock]] = []
    for _ in range(args.rounds):
        clocks = {"stock facenet-pytorch end to end": stock_pass(
            stored, profile.jpeg_quality, mtcnn, resnet, gallery_t, args.batch, device)}
        stages = harness_pass(sources, [profile], detector, recognizer, gallery, args.batch, device)
        clocks.update({f"harness {stage}": clock for stage, clock in stages.items()})
        clocks["harness end to end"] = _total(stages.values(), device)
        clocks.update({f"embedding-only bound ({label})": embedding_bound(
            crops, network, args.batch, device) for label, network in networks.items()})
        rounds.append(clocks)
    load_after = os.getloadavg()

    n = args.probes
    wall = {label: statistics.median(r[label].wall_s for r in rounds) for label in rounds[0]}
    cpu = {label: statistics.median(r[label].cpu_s for r in rounds) for label in rounds[0]}
    print(f"device: {device_name(device)} ({device.type}); torch {torch.__version__}, "
          f"facenet-pytorch {facenet_pytorch_version()}; harness MTCNN fast path: "
          f"{detector.fast}, recognizer numerics: {recognizer.numerics}")
    print(f"work: {n} lfw-mini probes, profile {profile.name} at {profile.distance_m} m, "
          f"batch {args.batch}, median of {args.rounds} alternating rounds")
    print(f"load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")
    print(f"{'pipeline / stage':<44}{'wall s':>9}{'faces/s':>9}{'CPU s':>9}{'faces/CPU-s':>12}")
    for label, seconds in wall.items():
        print(f"{label:<44}{seconds:>9.2f}{n / seconds:>9.1f}{cpu[label]:>9.2f}"
              f"{n / cpu[label]:>12.1f}")
    stock, harness = "stock facenet-pytorch end to end", "harness end to end"
    bound = f"embedding-only bound (harness, {recognizer.numerics})"
    print(f"harness speed / stock: {wall[stock] / wall[harness]:.2f}x wall, "
          f"{cpu[stock] / cpu[harness]:.2f}x CPU; "
          f"harness / embedding-only bound: {wall[bound] / wall[harness]:.0%} wall")
    print(peak_memory(device))

    if not args.no_scaling:
        other = profile.model_copy(update={"jpeg_quality": min(profile.jpeg_quality + 10, 100)})
        print("scaling, harness end to end (second condition: JPEG quality "
              f"{other.jpeg_quality} instead of {profile.jpeg_quality}):")
        print(f"{'probes':>8}{'conditions':>12}{'wall s':>9}{'CPU s':>9}{'CPU ms/probe-cond':>19}")
        for count, profiles in ((n, [profile]), (2 * n, [profile]), (n, [profile, other])):
            work = (sources * 2)[:count]
            total = _total(harness_pass(work, profiles, detector, recognizer, gallery,
                                        args.batch, device).values(), device)
            print(f"{count:>8}{len(profiles):>12}{total.wall_s:>9.2f}{total.cpu_s:>9.2f}"
                  f"{1000 * total.cpu_s / (count * len(profiles)):>19.2f}")


def _total(clocks, device: torch.device) -> Clock:
    total = Clock(device)
    for clock in clocks:
        total.wall_s += clock.wall_s
        total.cpu_s += clock.cpu_s
    return total


def facenet_pytorch_version() -> str:
    from importlib.metadata import version
    return version("facenet-pytorch")

if __name__ == "__main__":
    main()
