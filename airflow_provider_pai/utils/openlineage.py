"""OpenLineage datasets and facets for the provider's operators (docs/lineage.md).

Imported only inside ``get_openlineage_facets_on_complete``, which the OpenLineage listener calls
after a task succeeds: a DAG file that imports the operators never imports OpenLineage, and
without ``apache-airflow-providers-openlineage`` (extra ``openlineage``) nothing here runs.

Naming follows the OpenLineage naming spec (https://openlineage.io/docs/spec/naming):

- an OSS object or prefix is namespace ``oss://<bucket>``, name ``<key>`` (no trailing ``/``),
  as ``s3://<bucket>`` / ``gs://<bucket>`` are for S3 and GCS;
- a PAI-EAS service is namespace ``eas://pai-eas.<region>.aliyuncs.com`` (the region's API host,
  as Athena's is ``awsathena://athena.<region>.amazonaws.com``), name ``<service name>``;
- a DataWorks run is a run facet ``externalQuery`` (``externalQueryId`` = the instance id,
  ``source`` = ``dataworks``), as the Google provider reports a BigQuery job id.
"""

from __future__ import annotations

from typing import Any, TypeGuard

EAS_NAMESPACE = "eas://pai-eas.{region}.aliyuncs.com"


def oss_dataset_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of an ``oss://bucket/key`` URI (a prefix loses its trailing slash)."""
    if not uri.startswith("oss://"):
        raise ValueError(f"not an oss:// URI: {uri!r}")
    bucket, _, key = uri[len("oss://"):].partition("/")
    return f"oss://{bucket}", key.rstrip("/") or "/"


def eas_dataset_name(region_id: str, service_name: str) -> tuple[str, str]:
    return EAS_NAMESPACE.format(region=region_id), service_name


def oss_dataset(uri: str, **facets: Any):
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = oss_dataset_name(uri)
    return Dataset(namespace=namespace, name=name, facets=facets or {})


def eas_dataset(region_id: str, service_name: str, **facets: Any):
    from airflow.providers.common.compat.openlineage.facet import Dataset

    namespace, name = eas_dataset_name(region_id, service_name)
    return Dataset(namespace=namespace, name=name, facets=facets or {})


def external_run_facets(source: str, external_id: Any) -> dict:
    """``{"externalQuery": ...}``: the remote job this task ran (a DataWorks instance, an EAS version)."""
    from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet

    return {"externalQuery": ExternalQueryRunFacet(externalQueryId=str(external_id), source=source)}


def lineage(inputs=(), outputs=(), run_facets: dict | None = None, job_facets: dict | None = None):
    """An ``OperatorLineage`` (what ``get_openlineage_facets_on_complete`` returns)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=list(inputs), outputs=list(outputs), run_facets=run_facets or {},
                           job_facets=job_facets or {})


def _is_oss(uri: Any) -> TypeGuard[str]:
    return isinstance(uri, str) and uri.startswith("oss://") and len(uri) > len("oss://")


def model_to_service(model_path: str | None, region_id: str, service_name: str, version: Any = None):
    """A deploy's lineage: the model in OSS (input) -> the EAS service (output); the version as the run id."""
    inputs = [oss_dataset(model_path)] if _is_oss(model_path) else []
    run_facets = external_run_facets("pai-eas", f"{service_name}@v{version}") if version else {}
    return lineage(inputs, [eas_dataset(region_id, service_name)], run_facets)


def dataworks_run(result: dict, outputs: Any = None):
    """A DataWorks run: its instance id as the external job; ``outputs`` (oss:// URIs) where known."""
    uris = [outputs] if isinstance(outputs, str) else list(outputs or [])
    instance = result.get("instance_id") or result.get("InstanceId")
    facets = external_run_facets("dataworks", instance) if instance else {}
    return lineage([], [oss_dataset(u) for u in uris if _is_oss(u)], facets)


def oss_copy(source: Any, destination: Any):
    """An export: the source object/prefix -> the destination prefix."""
    return lineage([oss_dataset(source)] if _is_oss(source) else [],
                   [oss_dataset(destination)] if _is_oss(destination) else [])
