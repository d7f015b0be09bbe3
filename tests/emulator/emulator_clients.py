"""Real-SDK clients for an emulator (``pai_emulator`` fixture or ``EmulatorProcess``), shared by the emulator tests."""

from __future__ import annotations

import json
import urllib.request

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _config(emu, **overrides):
    from alibabacloud_tea_openapi.utils_models import Config

    kw = {"access_key_id": emu.access_key_id, "access_key_secret": emu.access_key_secret,
          "endpoint": emu.url.removeprefix("http://"), "protocol": "http", **overrides}
    return Config(**kw)


def dataworks(emu, **overrides):
    from alibabacloud_dataworks_public20200518.client import Client

    return Client(_config(emu, **overrides))


def eas(emu, **overrides):
    from alibabacloud_eas20210701.client import Client

    return Client(_config(emu, **overrides))


def get_node(emu, node_id=700001, **overrides):
    from alibabacloud_dataworks_public20200518.models import GetNodeRequest

    return dataworks(emu, **overrides).get_node(GetNodeRequest(node_id=node_id, project_env="PROD")).body.data


def describe_service(emu, **overrides):
    return eas(emu, **overrides).describe_service(emu.region_id, "churn_model").body


def bucket(emu, name="pai-demo"):
    import oss2

    return oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.url, name)


def http(method, url, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    return _opener.open(req, timeout=30)
