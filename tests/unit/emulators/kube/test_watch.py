"""When a watch gets its bookmarks (smk8s.emulators.kube.watch.next_bookmark_time), as k8s.io/apiserver
pkg/storage/cacher/cache_watcher.go ``nextBookmarkTime`` decides: every interval, and 2 s before the deadline."""

from __future__ import annotations

from smk8s.emulators.kube.watch import next_bookmark_time


def test_the_periodic_bookmark_when_the_deadline_is_far() -> None:
    assert next_bookmark_time(now=100.0, deadline=10_000.0, interval=60.0) == 160.0


def test_two_seconds_before_the_deadline_when_that_comes_first() -> None:
    assert next_bookmark_time(now=100.0, deadline=130.0, interval=60.0) == 128.0
    assert next_bookmark_time(now=100.0, deadline=102.0, interval=60.0) == 100.0


def test_no_bookmark_once_the_pre_timeout_moment_has_passed() -> None:
    assert next_bookmark_time(now=128.5, deadline=130.0, interval=60.0) is None
