"""Sharding: one site's credentials split across machines, each building and publishing its own.

A credential belongs to one of 256 fixed partitions, by the first byte of its UUID. Shard
K of N (1-based) owns the partitions p with p mod N == K-1: the partitions do not depend
on N, so the publish manifest, kept per partition in the bucket, is found where the last
run left it whatever N that run had. Shard 1 also owns the objects no credential owns
(home, content pages, keys, verify, assets, 404): one job, one writer of them.

`--shard auto` reads the index and count from the engine that runs the job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from sitegen.errors import SitegenError

PARTITIONS = 256  # fixed forever: the bucket's manifest is kept per partition
SHARED_PARTITION = "shared"  # the objects no credential owns

ENV_SHARD_INDEX = "SITEGEN_SHARD_INDEX"  # 0-based, for engines that set nothing (GitHub Actions)
ENV_SHARD_COUNT = "SITEGEN_SHARD_COUNT"  # for engines that give the index alone (Kubernetes)


def partition_of(uuid: str) -> int:
    """The partition of a credential (a validated UUID): its first byte."""
    return int(uuid[:2], 16)


def partition_name(partition: int) -> str:
    """How the bucket names a partition: two hex digits, the UUIDs' own first two."""
    return f"{partition:02x}"


class Shard(NamedTuple):
    """Shard `index` of `count`, 1-based."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns_partition(self, partition: int) -> bool:
        return partition % self.count == self.index - 1

    def owns(self, uuid: str) -> bool:
        return self.owns_partition(partition_of(uuid))

    @property
    def partitions(self) -> list[int]:
        return [p for p in range(PARTITIONS) if self.owns_partition(p)]

    @property
    def publishes_shared(self) -> bool:
        """Shard 1 builds and publishes the shared pages, as it always has."""
        return self.index == 1


def shard_or_whole(index: int, count: int, what: str) -> Shard | None:
    """Shard `index` of `count`, checked; None for 1 of 1, the whole site."""
    if not 1 <= count <= PARTITIONS:
        raise SitegenError(f"{what}: the shard count must be between 1 and {PARTITIONS} "
                           f"(the bucket's manifest has {PARTITIONS} partitions), got {count}")
    if not 1 <= index <= count:
        raise SitegenError(f"{what}: shard {index} of {count} does not exist (1 to {count})")
    return None if count == 1 else Shard(index, count)


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> Shard | None:
    """`K/N` (1-based), or `auto`: from the environment of the engine running the job."""
    if text == "auto":
        return shard_from_environment(os.environ if environ is None else environ)
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise SitegenError(f"--shard: expected K/N like 2/4, or auto, got {text!r}") from None
    return shard_or_whole(k, n, f"--shard {text}")


# (engine, index variable, first index, count variable): the count variable may be
# absent where the engine does not give it; SITEGEN_SHARD_COUNT then says it.
ENGINES = (
    ("sitegen", ENV_SHARD_INDEX, 0, ENV_SHARD_COUNT),
    ("GitLab CI parallel", "CI_NODE_INDEX", 1, "CI_NODE_TOTAL"),
    ("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", 0, None),
    ("an AWS Batch array job", "AWS_BATCH_JOB_ARRAY_INDEX", 0, "AWS_BATCH_JOB_ARRAY_SIZE"),
)


def shard_from_environment(environ: Mapping[str, str]) -> Shard | None:
    """The shard the engine running this job says this is; one clear line when nothing
    says, or when what it says does not add up."""
    found: dict[str, tuple[int, int]] = {}
    for engine, index_var, first, count_var in ENGINES:
        index_text = environ.get(index_var, "").strip()
        if not index_text:
            continue
        index = _integer(index_text, index_var)
        count = _count(environ, engine, index_var, count_var)
        if not first <= index < first + count:
            raise SitegenError(f"--shard auto: {index_var}={index_text} is not an index of {count} "
                               f"shards ({first} to {first + count - 1}, from {engine})")
        found[f"{index_var}={index_text} ({engine})"] = (index - first + 1, count)
    if not found:
        hint = (f" (on GitHub Actions, set {ENV_SHARD_INDEX}: ${{{{ strategy.job-index }}}} and "
                f"{ENV_SHARD_COUNT}: ${{{{ strategy.job-total }}}})") if environ.get("GITHUB_ACTIONS") else ""
        names = ", ".join(index_var for _, index_var, _, _ in ENGINES)
        raise SitegenError(f"--shard auto: nothing in the environment says which shard this is "
                           f"(looked for {names}){hint}: give --shard K/N instead")
    if len(set(found.values())) > 1:
        said = "; ".join(f"{source} says {k}/{n}" for source, (k, n) in found.items())
        raise SitegenError(f"--shard auto: the environment disagrees with itself: {said}")
    index, count = next(iter(found.values()))
    return shard_or_whole(index, count, "--shard auto")


def _count(environ: Mapping[str, str], engine: str, index_var: str, count_var: str | None) -> int:
    counts = {var: environ.get(var, "").strip() for var in (count_var, ENV_SHARD_COUNT) if var}
    counts = {var: _integer(text, var) for var, text in counts.items() if text}
    if not counts:
        raise SitegenError(f"--shard auto: {index_var} says which shard this is ({engine}), but not how "
                           f"many there are: set {ENV_SHARD_COUNT} to the number of shards")
    if len(set(counts.values())) > 1:
        said = ", ".join(f"{var}={value}" for var, value in counts.items())
        raise SitegenError(f"--shard auto: the shard counts disagree: {said}")
    return next(iter(counts.values()))


def _integer(text: str, variable: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SitegenError(f"--shard auto: {variable}={text!r} is not a whole number") from None
