"""``python -m benchmarks``: run every benchmark and print its figures."""

from __future__ import annotations

import asyncio

from benchmarks import aws_emulator, informer_memory, kube_emulator, workqueue


def main() -> None:
    asyncio.run(kube_emulator.main())
    asyncio.run(aws_emulator.main())
    asyncio.run(informer_memory.main())
    asyncio.run(workqueue.main())


if __name__ == "__main__":
    main()
