"""``python -m benchmarks``: run every benchmark and print its figures."""

from __future__ import annotations

import asyncio

from benchmarks import aws_emulator, informer_memory, kube_emulator, manager_rss, operator_jobs, workqueue


def main() -> None:
    asyncio.run(kube_emulator.main())
    asyncio.run(aws_emulator.main())
    asyncio.run(informer_memory.main())
    asyncio.run(workqueue.main())
    asyncio.run(manager_rss.main())
    asyncio.run(operator_jobs.main())


if __name__ == "__main__":
    main()
