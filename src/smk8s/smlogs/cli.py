"""Entry point of the ``kubectl-smlogs`` console script: ``kubectl smlogs TYPE NAME [flags]`` (docs/smlogs.md).

Exit statuses: 0 when the logs were printed (in follow mode: the job ended and its logs were drained); 1 with
``error: ...`` on stderr for every failure (object not found, job not created yet, no logs yet, missing region,
access denied, ...); 2 for a wrong command line; 130 when interrupted with Ctrl-C (SIGINT), quietly: no traceback,
no message (the shell convention 128 + SIGINT, what a shell reports for ``kubectl logs -f`` stopped the same way).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from smk8s.smlogs.args import Options, UsageError, build_parser, parse_args
from smk8s.smlogs.aws import AwsClients
from smk8s.smlogs.errors import PluginError
from smk8s.smlogs.kube import read_job_object
from smk8s.smlogs.output import Formatter
from smk8s.smlogs.session import TextSink, print_logs
from smk8s.smlogs.target import job_target, logs_endpoint, sagemaker_endpoint

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


async def run(options: Options, *, out: TextIO, err: TextIO, environ: Mapping[str, str]) -> None:
    """Read the object, then print its job's logs; raises :class:`PluginError` for the user-facing failures."""
    namespace, obj = await read_job_object(options.kind, options.name, namespace_flag=options.namespace,
                                           kubeconfig=options.kubeconfig, context=options.context, environ=environ)
    target = job_target(options.kind, namespace, obj)
    formatter = Formatter(output=options.output, show_stream=not options.hide_log_stream_name,
                          timestamps=options.timestamps)
    clients = AwsClients(target.region, logs_endpoint=logs_endpoint(options.endpoint_url),
                         sagemaker_endpoint=sagemaker_endpoint(options.endpoint_url, target.spec_endpoint, environ),
                         profile=options.profile)
    async with clients:
        await print_logs(clients, target, options, TextSink(out, formatter), err, now_ms=int(time.time() * 1000))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the plugin; returns the exit status (module docstring)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_args(args)
    except UsageError as exc:
        build_parser().print_usage(sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(run(options, out=sys.stdout, err=sys.stderr, environ=os.environ))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except PluginError as exc:
        sys.stdout.flush()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`kubectl smlogs ... | head`): stop quietly, and keep Python's exit-time flush of
        # stdout from complaining again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    return 0
