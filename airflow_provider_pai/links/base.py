"""Console links, persisted to XCom as soon as the remote id is known.

In the style of the Amazon/Google providers' ``BaseAwsLink``/``BaseGoogleLink``. On Airflow 2
``persist()`` pushes the link's fields under ``key`` and the webserver's ``get_link()`` formats
them. On Airflow 3 the API server runs no provider code and only shows what the worker stored
under the link's ``xcom_key``, which the worker writes when the task ends; ``persist()`` stores the
URL there right away (and nothing else), so the link shows while the task runs or is deferred, and
after it fails.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_pai.version_compat import LINKS_READ_FROM_XCOM

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

log = logging.getLogger(__name__)

# Field names the secrets masker treats as secret: such values never belong in a link. (A pattern,
# compiled on first use.)
_SECRET_NAME = r"(?i)secret|token|password|passwd|access_key|credential"


class PaiBaseLink(BaseOperatorLink):
    """A console link whose URL is ``format_str`` filled with the fields stored by ``persist``."""

    name: ClassVar[str]
    key: ClassVar[str]
    format_str: ClassVar[str]

    @classmethod
    def format_link(cls, **fields: Any) -> str:
        """Fill ``format_str``, URL-quoting every value; "" when a field is missing."""
        try:
            return cls.format_str.format(**{k: quote(str(v), safe="") for k, v in fields.items()})
        except (KeyError, IndexError):
            return ""

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        # Airflow 3: the URL persist() stored (the worker calls this when the task ends and stores
        # the answer under xcom_key again). Airflow 2: the webserver formats the stored fields.
        key = self.xcom_key if LINKS_READ_FROM_XCOM else self.key
        try:
            value = _stored_link(ti_key, key) if LINKS_READ_FROM_XCOM else XCom.get_value(ti_key=ti_key, key=key)
        except Exception:  # a broken link must never break the page that shows it
            log.warning("Could not read XCom %r for link %r", key, self.name, exc_info=True)
            return ""
        if LINKS_READ_FROM_XCOM:
            return value if isinstance(value, str) else ""
        return self.format_link(**value) if isinstance(value, dict) and value else ""

    @classmethod
    def persist(cls, context: Any, **fields: Any) -> str:
        """Store the link's fields (never secrets) in XCom now; return the URL for the task log."""
        leaked = sorted(k for k in fields if re.search(_SECRET_NAME, k))
        if leaked:
            raise ValueError(f"{cls.__name__}.persist() refuses secret-looking fields: {leaked}")
        ti = context["ti"]
        url = cls.format_link(**fields)
        if not LINKS_READ_FROM_XCOM:
            ti.xcom_push(key=cls.key, value=fields)
        elif url:
            # Only the URL, under the key the API server reads: the fields would be one more XCom
            # entry beside return_value that no user needs.
            ti.xcom_push(key=cls().xcom_key, value=url)
        return url


def _stored_link(ti_key: Any, key: str) -> Any:
    """The URL ``persist()`` stored for this task instance, or None, without a failed read.

    Airflow 3's worker asks every extra link when a task ends (``finalize``). A task that failed
    before its remote id was known never stored its link, and ``XCom.get_value`` of a missing key
    makes the API client log "XCom not found ... _link_..." as an ERROR in the task log, after every
    such failure. ``XCom.get_all`` answers an empty sequence instead, so it is asked first.
    """
    get_all = getattr(XCom, "get_all", None)
    if get_all is None:  # an Airflow 3 without get_all: the plain read
        return XCom.get_value(ti_key=ti_key, key=key)
    values = get_all(key=key, dag_id=ti_key.dag_id, task_id=ti_key.task_id, run_id=ti_key.run_id)
    if not values:
        return None
    if getattr(ti_key, "map_index", -1) is None or getattr(ti_key, "map_index", -1) < 0:
        return values[0]  # an unmapped task has one value per key
    return XCom.get_value(ti_key=ti_key, key=key)  # some index stored one: read this index's own
