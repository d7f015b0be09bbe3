"""OssObjectLink: the export's destination in the OSS console."""

from __future__ import annotations

from airflow_provider_pai.links.oss import OssObjectLink
from tests.unit.links.conftest import read_back

URL = "https://oss.console.aliyun.com/bucket/oss-cn-shanghai/pai-demo/object?path=models%2Fchurn%2F20261121%2F"


def test_oss_link_opens_the_bucket_at_the_destination_prefix(ti):
    url = OssObjectLink.persist({"ti": ti}, region_id="cn-shanghai", bucket="pai-demo", prefix="models/churn/20261121/")
    assert url == URL
    assert read_back(ti, OssObjectLink()) == URL
    assert (OssObjectLink.name, OssObjectLink.key) == ("OSS destination", "oss_destination")
