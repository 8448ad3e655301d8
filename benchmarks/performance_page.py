"""Regenerate the measured figures of the documentation: run every benchmark, one after the other, and replace each
one's generated block with its Markdown. The blocks are on docs/performance.md, except the pooling probe's (on
docs/models.md, behind `pool: auto`), the smoke runs' costs (on config/README.md) and the default grid's run with its
headline (on README.md); BENCHMARKS says which is where.

    python benchmarks/performance_page.py                        # every benchmark at its documented size
    python benchmarks/performance_page.py --only bench_policies  # a subset
    python benchmarks/performance_page.py --quick                # reduced sizes: checks the machinery, not the figures

A page is hand-written prose around blocks

    <!-- generated: bench_policies -->
    ...
    <!-- end generated -->

and everything between a block's markers is replaced; the prose is kept as it is. Each block opens with its stamp:
the date (UTC), the eebench commit, the machine, the load average at the start and the end and the exact command, so
a figure on the page always says what produced it. A block is written as soon as its benchmark finishes, so a
failure later keeps the blocks already measured.

The benchmark scripts import the Markdown helpers from here (`Measurement`, `markdown_table`, `verdict`,
`add_markdown_option`):
each writes its figures with `--markdown FILE` while keeping its printed output."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
# The real data the benchmarks read (as the tests do: tests/conftest.py): ../shared/data, or EEBENCH_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("EEBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
PAGE = REPO / "docs" / "performance.md"
START_PREFIX, END_MARKER = "<!-- generated: ", "<!-- end generated -->"


class Benchmark(NamedTuple):
    """Where a benchmark's block is and how the page runs it: at its documented size, and reduced for a quick check
    of the machinery."""

    page: Path
    options: list[str]
    quick_options: list[str]


BENCHMARKS = {
    "bench_policies": Benchmark(PAGE, [], ["--samples", "300", "--repeats", "1"]),
    "bench_dag": Benchmark(PAGE, [], ["--seeds", "2", "--repeats", "1"]),
    "bench_early_exit": Benchmark(PAGE, [], ["--samples", "16", "--train", "64", "--passes", "1"]),
    "bench_training": Benchmark(PAGE, ["--batch-order"],
                                ["--sentences", "64", "--steps", "2", "--rounds", "1", "--batch-order"]),
    "bench_sst2_epoch": Benchmark(PAGE, [], ["--max-steps", "3"]),
    "probe_pooling": Benchmark(REPO / "docs" / "models.md", [], ["--train-size", "64", "--test-size", "64"]),
    "bench_smoke": Benchmark(REPO / "config" / "README.md", [], ["--only", "survey"]),
    "bench_default_grid": Benchmark(REPO / "README.md", [], []),
}
QUICK_NOTE = ("**Quick check at reduced size, not the documented measurement** (`--quick`); "
              "`python benchmarks/performance_page.py` regenerates it at full size.")


class PageError(Exception):
    """A page whose generated blocks cannot be found: the message is one line naming the file and the marker."""


# -- the benchmarks' Markdown ---------------------------------------------------------------------------------------
def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def verdict(met: bool) -> str:
    """A target's verdict in a table: a miss stands out."""
    return "met" if met else "**not met**"


def add_markdown_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="also write the figures as Markdown, stamped with date, commit, machine, load average "
                             "and command (benchmarks/performance_page.py puts it on docs/performance.md)")


def command_line(argv: list[str]) -> str:
    """The benchmark's command as typed from the repository root, without `--markdown FILE`: where the Markdown goes
    changes nothing that was measured."""
    script = Path(argv[0]).resolve()
    script = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    options, skip = [], False
    for arg in argv[1:]:
        if skip or arg.startswith("--markdown="):
            skip = False
        elif arg == "--markdown":
            skip = True
        else:
            options.append(arg)
    return shlex.join(["python", str(script), *options])


@dataclass
class Measurement:
    """When, at which commit, with which command and under what load a benchmark ran: timings mean little without
    them, so every block on the page opens with them. `begin()` before measuring, `write()` after."""

    command: str
    started: dt.datetime
    commit: str
    load_at_start: tuple[float, float, float]
    clock: float = field(default_factory=time.perf_counter)

    # eebench.report.reproduction is imported where it is used: it brings pandas, which the page's runner never needs.
    @classmethod
    def begin(cls, argv: list[str] | None = None) -> Measurement:
        from eebench.report.reproduction import commit_of

        return cls(command_line(sys.argv if argv is None else argv), dt.datetime.now(dt.timezone.utc),
                   commit_of(REPO), os.getloadavg())

    def stamp(self, load_at_end: tuple[float, float, float], seconds: float, machine: str) -> str:
        def load(values):
            return " ".join(f"{value:.2f}" for value in values)

        return (f"*Measured {self.started:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s, by `{self.command}` at eebench "
                f"{self.commit}. Machine: {machine}. Load average (1, 5, 15 min): {load(self.load_at_start)} at the "
                f"start, {load(load_at_end)} at the end.*")

    def write(self, path: Path, body: str) -> None:
        """`body` under the stamp, to `path`."""
        from eebench.report.reproduction import machine

        stamp = self.stamp(os.getloadavg(), time.perf_counter() - self.clock, machine())
        Path(path).write_text(f"{stamp}\n\n{body.strip()}\n", encoding="utf-8")


# -- the page -------------------------------------------------------------------------------------------------------
def start_marker(name: str) -> str:
    return f"{START_PREFIX}{name} -->"


def block_span(text: str, name: str, page: Path) -> tuple[int, int]:
    """Where the content of block `name` lies in `text`: from the end of its start marker to its end marker."""
    marker = start_marker(name)
    count = text.count(marker)
    if count == 0:
        raise PageError(f"{page}: no '{marker}' marker")
    if count > 1:
        raise PageError(f"{page}: '{marker}' occurs {count} times")
    content = text.index(marker) + len(marker)
    end = text.find(END_MARKER, content)
    next_block = text.find(START_PREFIX, content)
    if end < 0 or 0 <= next_block < end:
        raise PageError(f"{page}: '{marker}' is not closed by '{END_MARKER}'")
    return content, end


def splice(text: str, name: str, markdown: str, page: Path) -> str:
    """`text` with block `name`'s content replaced by `markdown`; everything outside the block is kept."""
    content, end = block_span(text, name, page)
    return f"{text[:content]}\n\n{markdown.strip()}\n\n{text[end:]}"


def run_benchmark(name: str, options: list[str], markdown: Path) -> None:
    """Runs benchmarks/{name}.py with its output on this terminal; a failure stops the page with its exit status."""
    command = [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), *options, "--markdown", str(markdown)]
    print(f"== {shlex.join(command[1:])}", flush=True)
    done = subprocess.run(command, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed (exit status {done.returncode}); the blocks written before it are kept")


def regenerate(page: Path | None, names: list[str], quick: bool) -> None:
    """Runs the benchmarks `names` one after the other (timings taken side by side would measure each other) and
    rewrites each one's block of its page (of `page` instead, when given) as soon as it finishes."""
    pages = {name: page or BENCHMARKS[name].page for name in names}
    for name in names:  # before any benchmark runs: a broken page should not cost a full run
        block_span(pages[name].read_text(encoding="utf-8"), name, pages[name])
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            benchmark = BENCHMARKS[name]
            markdown = Path(tmp) / f"{name}.md"
            run_benchmark(name, benchmark.quick_options if quick else benchmark.options, markdown)
            block = markdown.read_text(encoding="utf-8")
            if quick:
                block = f"{QUICK_NOTE}\n\n{block}"
            target = pages[name]
            target.write_text(splice(target.read_text(encoding="utf-8"), name, block, target), encoding="utf-8")
            print(f"== {target}: block {name} rewritten", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", default=list(BENCHMARKS),
                        help=f"run these benchmarks only (of {', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes, to check the machinery; the blocks say they are not the measurement")
    parser.add_argument("--page", type=Path, help="write every block to this page instead of each benchmark's own")
    args = parser.parse_args()
    try:
        regenerate(args.page, args.only, args.quick)
    except PageError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()
