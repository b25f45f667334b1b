"""Build ``datasets/lfw-mini``, the small real dataset bundled with the harness, from LFW.

Selection rule (deterministic; the same source gives the same bytes):

1. Read the source's ``images/<Name>/<Name>_NNNN.jpg`` with :func:`evalharness.data.open_dataset`
   (every image decoded and checked).
2. Rank people by SHA-256 of ``"<seed>:<Name>"`` (hex, ascending): a fixed pseudo-random order
   that does not depend on the Python version or on alphabetical bias.
3. Take the first ``--mated`` people with at least 4 images, each with their first
   ``--per-person`` images by file name (gallery image plus mated probes), and the first
   ``--singletons`` people with exactly one image (non-mated probes).
4. Copy the files byte for byte, then write ``manifest.csv`` and the dataset card ``README.md``.

Usage::

    .venv/bin/python scripts/make_lfw_mini.py --source $LFW_DEVTRAIN \\
        --out datasets/lfw-mini
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

from evalharness.data import FaceRecord, open_dataset

MIN_MATED_IMAGES = 4
MAX_BYTES = 10_000_000

CARD = """\
# lfw-mini

A small set of real, identity-labelled face photographs bundled with evalharness, for examples,
tests and quick runs. It is a subset of *Labeled Faces in the Wild* (LFW), deep-funneled (aligned)
variant, 250x250 JPEG, University of Massachusetts Amherst, taken from LFW's official
development-training split (View 1).

## Contents

| | |
|---|---|
| people with {min_mated} or more images (gallery + mated probes) | {n_mated} |
| images of those people | {n_mated_images} |
| people with exactly one image (non-mated probes) | {n_singletons} |
| people / images in all | {n_people} / {n_images} |
| total size of the files | {total_bytes:,} bytes |
| fingerprint (`open_dataset("datasets/lfw-mini").fingerprint`) | `{fingerprint}` |

Layout: `<Person_Name>/<Person_Name>_NNNN.jpg` (NNNN is LFW's 1-based image number).
`manifest.csv` lists every image (identity, relpath, size_bytes, sha256); its SHA-256
(`sha256sum manifest.csv`) is the fingerprint above. The image files are byte-identical to LFW's.
With its {n_folders} folders the dataset takes about {du_mb:.1f} MB as `du -sb` counts on ext4
(4,096 bytes or more per folder; other file systems count folders differently).

## Source

The LFW website's own public repository, commit 2a620cd8, folder `images_deepfunneled/`,
restricted to the 4,038 people of the development-training split (`peopleDevTrain.txt`).
No image of LFW's development-test split is included.

## Selection rule

People are ranked by the SHA-256 of `"{seed}:<Person_Name>"` (hex, ascending). The first
{n_mated} people with at least {min_mated} images are taken, each with their first {per_person}
images by file name; then the first {n_singletons} people with exactly one image. Built with

    .venv/bin/python scripts/make_lfw_mini.py --source $LFW_DEVTRAIN \\
        --out datasets/lfw-mini --mated {n_mated} --per-person {per_person} \\
        --singletons {n_singletons} --seed {seed}

## Terms

LFW carries no formal licence; the photographs' copyright stays with their photographers and
the set is conventionally used for research. Its authors ask that LFW results not be presented as
evidence that an algorithm is fit for a commercial purpose.

The people are public figures photographed for news stories; LFW is not balanced by sex, age or
ethnicity, so results on it do not describe any particular population of drivers.

## Citation

G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, "Labeled Faces in the Wild: A Database for
Studying Face Recognition in Unconstrained Environments", UMass Amherst Technical Report 07-49,
2007.
"""


def select(
    people: dict[str, list[FaceRecord]], mated: int, per_person: int, singletons: int, seed: str
) -> tuple[list[FaceRecord], list[FaceRecord]]:
    """Pick the mated and singleton people's records by the rule in the module docstring."""

    def rank(name: str) -> str:
        return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()

    order = sorted(people, key=rank)
    mated_names = [n for n in order if len(people[n]) >= MIN_MATED_IMAGES][:mated]
    single_names = [n for n in order if len(people[n]) == 1][:singletons]
    if len(mated_names) < mated or len(single_names) < singletons:
        raise SystemExit(
            f"source has only {len(mated_names)} people with >= {MIN_MATED_IMAGES} images and "
            f"{len(single_names)} with one; asked for {mated} and {singletons}"
        )
    chosen_mated = [r for n in mated_names for r in people[n][:per_person]]
    chosen_single = [people[n][0] for n in single_names]
    return chosen_mated, chosen_single


def folder_bytes(folder: Path) -> tuple[int, int]:
    """Total size of the files in a folder (including sub-folders), and the number of folders."""
    paths = [folder, *folder.rglob("*")]
    return sum(p.stat().st_size for p in paths if p.is_file()), sum(p.is_dir() for p in paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="LFW split with images/")
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument("--mated", type=int, default=140, help="people with >= 4 images")
    parser.add_argument("--per-person", type=int, default=5, help="images kept per such person")
    parser.add_argument("--singletons", type=int, default=150, help="people with one image")
    parser.add_argument("--seed", default="lfw-mini", help="text mixed into the ranking hash")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    args = parser.parse_args(argv)
    if args.per_person < MIN_MATED_IMAGES:
        parser.error(f"--per-person must be at least {MIN_MATED_IMAGES}")

    source = open_dataset(args.source / "images")
    chosen_mated, chosen_single = select(
        source.identities(), args.mated, args.per_person, args.singletons, args.seed
    )
    if args.out.exists():
        if not args.force:
            parser.error(f"{args.out} exists; pass --force to replace it")
        shutil.rmtree(args.out)
    for record in chosen_mated + chosen_single:
        target = args.out / record.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record.path, target)

    built = open_dataset(args.out)
    built.write_manifest(args.out / "manifest.csv")
    figures = {
        "min_mated": MIN_MATED_IMAGES,
        "n_mated": args.mated,
        "n_mated_images": len(chosen_mated),
        "n_singletons": args.singletons,
        "n_people": len(built.identities()),
        "n_images": len(built),
        "per_person": args.per_person,
        "seed": args.seed,
        "fingerprint": built.fingerprint,
    }
    # The card's own length enters the total, so render it until the figure is stable. The
    # du -sb figure on ext4 is estimated as files + 4,096 bytes per folder, so that the card
    # does not depend on the file system it was built on.
    total = 0
    while True:
        total_bytes, n_folders = folder_bytes(args.out)
        if total_bytes == total:
            break
        total = total_bytes
        du_mb = (total + 4096 * n_folders) / 1e6
        card = CARD.format(total_bytes=total, n_folders=n_folders, du_mb=du_mb, **figures)
        (args.out / "README.md").write_text(card, "utf-8")
    print(f"{args.out}: {figures['n_people']} people, {figures['n_images']} images, "
          f"{total:,} bytes in files (about {du_mb:.1f} MB on ext4), "
          f"fingerprint {built.fingerprint}")
    if du_mb * 1e6 > MAX_BYTES:
        print(f"{args.out}: larger than {MAX_BYTES:,} bytes; choose fewer people", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
