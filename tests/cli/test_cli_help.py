"""Every subcommand's ``--help`` works and shows an example; ``--quiet`` and ``--debug`` are
global; the top-level help lists the exit codes."""

from __future__ import annotations

from typing import Any

import torch
import typer

from evalharness.cli.app import app


def _leaf_commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under a (click-style) group, sub-groups expanded."""
    leaves = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            leaves += _leaf_commands(command, (*path, name))
        else:
            leaves.append((*path, name))
    return leaves


def test_every_subcommand_help_shows_an_example(cli):
    commands = _leaf_commands(typer.main.get_command(app))
    assert {("run",), ("compare",), ("doctor",), ("report",), ("profiles", "show")} <= set(commands)
    for command in commands:
        result = cli(*command, "--help")
        assert result.code == 0, command
        assert f"evalharness {' '.join(command)}" in result.out, command  # an example invocation
        assert "Example" in result.out, command


def test_top_level_help_lists_exit_codes_and_global_options(cli):
    result = cli("--help")
    assert result.code == 0
    for text in ("--debug", "--quiet", "Exit codes", "2 bad config", "3 bad data", "5 output"):
        assert text in result.out, text


def test_unknown_command_and_option_are_usage_errors(cli):
    assert cli("frobnicate").code == 2
    result = cli("compare", "--tolerance", "-1", "a", "b")
    assert result.code == 2 and "Traceback" not in result.err and "--tolerance" in result.err


def test_global_flags_are_accepted_after_the_subcommand(cli, lfw_mini, tmp_path):
    face = lfw_mini / "Al_Gore" / "Al_Gore_0001.jpg"
    chatty = cli("degrade", face, "--profile", "control-passport", "--eyes", "lfw", "--out", tmp_path / "a")
    assert chatty.code == 0 and "Al_Gore_0001.jpg ->" in chatty.err
    quiet = cli("degrade", face, "--profile", "control-passport", "--eyes", "lfw", "--out", tmp_path / "b",
                "--quiet")
    assert quiet.code == 0 and quiet.err == ""
    assert (tmp_path / "b" / "Al_Gore_0001.jpg").read_bytes() == (tmp_path / "a" / "Al_Gore_0001.jpg").read_bytes()


def test_doctor_says_an_absent_optional_model_is_optional_and_how_to_add_it(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_CACHE", str(tmp_path))
    result = cli("doctor")
    assert result.code == 0, result.err
    (line,) = [line for line in result.out.splitlines() if "facenet-vggface2:" in line]
    assert "facenet-vggface2: optional, not installed (" in line and "unavailable" not in line
    assert "fetch https://" in line and "facenet-vggface2:PATH" in line
    (processor,) = [line for line in result.out.splitlines() if line.startswith("processor ")]
    assert f"torch kernels {torch.backends.cpu.get_cpu_capability()};" in processor


def test_no_help_shows_typer_type_notation(cli):
    """Usage lines and option lists read IMAGE..., PATH, INT: no {IMAGE}, <list[Path]>, <int range>."""
    for command in [(), ("profiles",), *_leaf_commands(typer.main.get_command(app))]:
        text = cli(*command, "--help").out
        for notation in ("<list[", "<int", "<float", "<str>", "<path>", "{", "}"):
            assert notation not in text, (command, notation)
    assert "  --seed INT " in cli("degrade", "--help").out
    assert "  --batch-size INT " in cli("pairs", "--help").out
    assert "  FRAMES...  " in cli("calibrate", "--help").out


def test_usage_lines_name_what_to_give(cli):
    usages = {command: cli(*command.split(), "--help").out.splitlines()[0]
              for command in ("degrade", "quality", "run", "compare", "report", "profiles show")}
    assert usages["degrade"] == "Usage: evalharness degrade [OPTIONS] IMAGE..."
    assert usages["quality"] == "Usage: evalharness quality [OPTIONS] IMAGE..."
    assert usages["run"] == "Usage: evalharness run [OPTIONS] EXPERIMENT.toml"
    assert usages["compare"] == "Usage: evalharness compare [OPTIONS] RUN_A RUN_B"
    run_help = cli("run", "--help").out
    assert "--limit N " in run_help and "--set KEY=VALUE " in run_help and "<int range>" not in run_help
    # Every command that runs a model defaults to the same device choice.
    for command in ("run", "quality", "pairs"):
        assert "[default: auto]" in " ".join(cli(command, "--help").out.split()), command


def test_doctor_names_a_cache_folder_it_cannot_write(cli, tmp_path, monkeypatch):
    """Runs write converted weights and embedding caches there: doctor must say so before a run
    fails on it, naming the folder and the variable that moves it."""
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder\n")
    monkeypatch.setenv("EVALHARNESS_CACHE", str(in_the_way / "cache"))
    result = cli("doctor")
    assert result.code == 1
    assert f"cache           {in_the_way / 'cache'}: NOT WRITABLE" in result.out
    (problem,) = [line for line in result.err.splitlines() if line.startswith("problem: cache ")]
    assert "cannot write there" in problem and "set EVALHARNESS_CACHE to a writable folder" in problem
    monkeypatch.setenv("EVALHARNESS_CACHE", str(tmp_path / "new" / "cache"))
    result = cli("doctor")
    assert result.code == 0 and f"cache           {tmp_path / 'new' / 'cache'}: writable" in result.out
