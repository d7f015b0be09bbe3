"""Bucket regions and OSS copy limits (docs/cloud-fidelity.md F-OSS-1..F-OSS-3).

Scenario: ``oss.buckets`` entries are a name (the emulator's region) or ``{name, region}``;
``oss.limits`` may lower ``copy_object_max_bytes`` / ``part_max_bytes`` so tests can reach them.
The emulator's one endpoint stands for every region's endpoint; what differs per region is where a
bucket lives, which CopyObject and UploadPartCopy check.
"""

from __future__ import annotations

from .oss_xml import OssError

GB5 = 5 * 1024**3
# F-OSS-2: CopyObject between two buckets copies at most 5 GB (larger: UploadPartCopy); F-OSS-3: a
# part is 100 KB to 5 GB (every part but the last at least 100 KB, checked at complete).
DEFAULT_LIMITS = {"copy_object_max_bytes": GB5, "part_max_bytes": GB5}


def seed_regions(scenario: dict) -> dict[str, str]:
    region = scenario.get("region_id", "cn-shanghai")
    out = {}
    for entry in (scenario.get("oss") or {}).get("buckets", []):
        name, where = (entry, region) if isinstance(entry, str) else (entry["name"], entry.get("region", region))
        out[name] = where
    return out


def bucket_names(scenario: dict) -> list[str]:
    return [b if isinstance(b, str) else b["name"] for b in (scenario.get("oss") or {}).get("buckets", [])]


def region_of(ctx, bucket: str) -> str:
    return (ctx.state.get("oss_regions") or {}).get(bucket, ctx.region_id)


def limit(ctx, name: str) -> int:
    return int(((ctx.scenario.get("oss") or {}).get("limits") or {}).get(name, DEFAULT_LIMITS[name]))


def check_same_region(ctx, src_bucket: str, dst_bucket: str) -> None:
    """F-OSS-1: "Data cannot be copied across regions". The copy goes to the destination's region,
    which holds no bucket of that name, so it is answered as a missing source bucket (inferred)."""
    src, dst = region_of(ctx, src_bucket), region_of(ctx, dst_bucket)
    if src != dst:
        raise OssError(404, "NoSuchBucket",
                       f"The specified bucket does not exist. (source bucket {src_bucket} is in {src}; a copy "
                       f"into {dst_bucket} in {dst} can only read buckets of {dst})", BucketName=src_bucket)


def check_size(ctx, size: int, name: str, what: str) -> None:
    if size > limit(ctx, name):
        raise OssError(400, "EntityTooLarge", f"{what} of {size} bytes exceeds the maximum allowed size "
                       f"{limit(ctx, name)}.", MaxSizeAllowed=str(limit(ctx, name)))
