"""Every command the README shows runs: its flags are checked against the parsers that read them (dl-data,
dl-animate, dl-eval, dl-train through LightningCLI), its make targets and configs exist."""

import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO


def readme_commands(text: str | None = None) -> list[list[str]]:
    """The commands of the bash blocks of ``text`` (default: the whole README), continuation lines joined, comments
    and #SBATCH lines dropped."""
    text = (REPO / "README.md").read_text() if text is None else text
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                out.append(shlex.split(line))
    return out


def test_the_readme_shows_the_two_commands_first_and_stays_short():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    assert readme_commands()[:2] == [["make", "train"], ["make", "test"]]
    first_screen = "\n".join(text.splitlines()[:50])
    assert "![" in first_screen and "## Results" in first_screen


def test_every_make_target_and_file_the_readme_names_exists():
    targets = set(re.findall(r"(?m)^([\w-]+):", (REPO / "Makefile").read_text()))
    for cmd in readme_commands():
        if cmd[0] == "make":
            assert cmd[1] in targets, cmd
            for arg in cmd[2:]:
                if arg.startswith(("CONFIG=", "SWEEP=")):
                    assert (REPO / arg.split("=", 1)[1]).is_file(), cmd
        for i, arg in enumerate(cmd):
            if arg == "--config" and cmd[i + 1].startswith("configs/"):
                assert (REPO / cmd[i + 1]).is_file(), cmd


@pytest.mark.parametrize("tool", ["dl-data", "dl-animate", "dl-eval"])
def test_the_readme_flags_parse(tool):
    from dl_lightning.cli import animate, data, eval

    parser = {"dl-data": data, "dl-animate": animate, "dl-eval": eval}[tool].build_parser()
    commands = [c for c in readme_commands() if c[0] == tool]
    assert commands, f"the README shows no {tool} command"
    for cmd in commands:
        parser.parse_args(cmd[1:])  # an unknown flag or a bad choice exits here


def test_the_readme_training_commands_parse():
    """dl-train, torchrun -m dl_lightning.cli.train, srun and ``make train CONFIG=... ARGS=...`` lines, through
    LightningCLI's --print_config."""
    for cmd in readme_commands():
        given = dict(a.split("=", 1) for a in cmd[2:] if "=" in a and not a.startswith("-"))
        if cmd[:2] == ["make", "train"] and "ARGS" in given:
            args = ["fit", "--config", given.get("CONFIG", "configs/gan/synthetic64.yaml"), *shlex.split(given["ARGS"])]
        elif "dl_lightning.cli.train" in cmd:
            args = cmd[cmd.index("dl_lightning.cli.train") + 1 :]
        elif any(c.endswith("dl-train") for c in cmd):
            args = cmd[next(i for i, c in enumerate(cmd) if c.endswith("dl-train")) + 1 :]
        else:
            continue
        if "--ckpt_path" in args:  # a resume names a checkpoint that a fresh clone does not have
            i = args.index("--ckpt_path")
            args = args[:i] + args[i + 2 :]
        r = subprocess.run([sys.executable, "-m", "dl_lightning.cli.train", *args, "--print_config"], cwd=REPO,
                           capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                           "WANDB_MODE": "disabled", "DL_PRECISION_CHOSEN": "x"})  # fmt: skip
        assert r.returncode == 0, (cmd, r.stderr[-500:])


def rehearsed_lines() -> list[str]:
    """The command lines of tests/rehearse.sh (continuations joined, comments dropped)."""
    text = (REPO / "tests/rehearse.sh").read_text().replace("\\\n", " ")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def is_rehearsed(cmd: list[str], lines: list[str]) -> bool:
    """Whether the rehearsal runs README command ``cmd``: the same make target, dl-* subcommand (dl-train: with the
    same first config), the torchrun launcher, or srun's setup (several nodes)."""
    tool = cmd[0]
    if tool == "make":
        return any(re.match(rf"make\b[^|;&]*?\s{cmd[1]}(\s|$)", ln) for ln in lines)
    if tool == "srun":
        return any("--trainer.num_nodes=2" in ln and "NODE_RANK" in ln for ln in lines)
    if tool == "torchrun":
        return any("torchrun" in ln and "dl_lightning.cli.train" in ln for ln in lines)
    if tool == "dl-train":
        return any(f"dl-train fit --config {cmd[cmd.index('--config') + 1]}" in ln for ln in lines)
    return any(f"{tool} {cmd[1]}" in ln for ln in lines)


def test_the_researchers_sections_show_only_what_the_rehearsal_runs():
    """Every command of the multi-GPU, your-data, evaluation and sweep sections is run by ``make rehearse``."""
    text = (REPO / "README.md").read_text()
    sections = dict(re.findall(r"(?ms)^### (.+?)\n(.*?)(?=^##)", text))
    names = ("Several GPUs and nodes", "Your photos and videos", "Evaluate", "Sweep")
    lines = rehearsed_lines()
    commands = [cmd for name in names for cmd in readme_commands(sections[name])]
    assert len(commands) >= 12
    missing = [" ".join(c[:2]) for c in commands if not is_rehearsed(c, lines)]
    assert not missing, f"README commands that make rehearse does not run: {missing}"
