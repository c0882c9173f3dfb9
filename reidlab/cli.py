"""Command line: ``python -m reidlab {synth,baseline,train,eval,sweep,export}``.

Each sub-command lives in the module that does the work: that module defines
``configure_parser(parser)`` and ``run(args) -> int``. Modules are imported only when their
sub-command is used, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from reidlab.errors import ReidlabError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("reidlab.synth.cli", "write the synthetic SynthCams dataset in the MARS layout"),
    "baseline": ("reidlab.engine.baseline", "compute ImageNet-initialised features of a dataset "
                 "(the app's 'ImageNet init' run)"),
    "train": ("reidlab.engine.cli_train", "train a method and write a run store"),
    "eval": ("reidlab.engine.cli_eval", "evaluate a run (CMC/mAP/mINP, per camera pair) as JSON"),
    "sweep": ("reidlab.engine.cli_sweep", "train a series of runs over one hyper-parameter"),
    "export": ("reidlab.viz.cli_export", "export a run's figures and tables for a paper"),
    "gap": ("reidlab.analysis.gap", "a dataset's camera gap: same-camera neighbour share, "
            "cross-camera same-identity share, camera probe"),
}


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line naming the command and the flag (``--help`` shows the
    rest), exit status 2; sub-command parsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m reidlab",
        description="reidlab: camera-aware person re-identification lab",
    )
    parser.add_argument("--offline", action="store_true",
                        help="never download ImageNet weights (sets REIDLAB_OFFLINE=1): a file "
                        "missing from the torch cache is an error naming where to place it")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == chosen:
            importlib.import_module(module).configure_parser(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # a usage error (one line, printed) or --help
        return int(e.code or 0)
    if args.offline:  # read by reidlab.models.backbones.fetch_weights, also in child processes
        os.environ["REIDLAB_OFFLINE"] = "1"
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except ReidlabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
