"""The input checks added for issue 14 (item 3): each names the parameter, the value and the fix."""

from __future__ import annotations

import pytest

from airflow_provider_pai.utils.validation import (
    EAS_STATUSES,
    PaiParameterError,
    is_runtime_value,
    list_length,
    refuse_list,
    validate_choice,
    validate_destination,
    validate_model_path,
    validate_patterns,
    validate_version,
    validate_workers,
)


@pytest.mark.parametrize("call, pattern", [
    (lambda: validate_choice("running", "target_status", EAS_STATUSES), r"target_status='running': did you mean 'Running'"),
    (lambda: validate_choice("Nope", "target_status", EAS_STATUSES), r"target_status='Nope': use one of"),
    (lambda: validate_workers(0), r"max_workers=0: expected a whole number"),
    (lambda: validate_workers(2.5), r"max_workers=2.5"),
    (lambda: validate_patterns(42), r"include=42: expected a glob pattern"),
    (lambda: validate_patterns([]), r"include=\[\]"),
    (lambda: validate_version("latest"), r"version='latest'"),
    (lambda: validate_version(0), r"version=0"),
    (lambda: validate_model_path("https://e.com/model.txt"), r"model_path='https://e.com/model.txt'.*TAR, GZ, BZ2 or ZIP"),
    (lambda: validate_model_path("/local/dir"), r"model_path='/local/dir'"),
    (lambda: validate_destination("oss://pai-demo"), r"destination='oss://pai-demo'.*bucket root.*allow_bucket_root"),
    (lambda: validate_destination("oss://pai-demo/"), r"destination='oss://pai-demo/'.*bucket root"),
    (lambda: refuse_list("['a', 'b']", "model_path"), r"model_path=.*list of 2 values"),
    (lambda: refuse_list("LazySelectSequence([3 items])", "instance_id"), r"list of 3 values"),
])
def test_bad_input_is_refused_naming_parameter_and_value(call, pattern):
    with pytest.raises(PaiParameterError, match=pattern):
        call()


def test_good_inputs_pass():
    assert validate_choice("Running", "target_status", EAS_STATUSES) == "Running"
    assert validate_workers(4) == 4 and validate_patterns("*.json") == ["*.json"] and validate_patterns(None) is None
    assert validate_version("2") == 2
    for url in ("https://e.com/m.tar.gz", "http://e.com/m.zip?sig=1", "https://e.com/m.bz2", "oss://b-1/m/"):
        assert validate_model_path(url) == url
    assert validate_destination("oss://pai-demo", allow_bucket_root=True) == ("pai-demo", "")
    assert validate_destination("oss://pai-demo/models/") == ("pai-demo", "models/")
    assert list_length("oss://a/") is None and list_length("[not python") is None
    refuse_list("oss://a/", "model_path")


def test_runtime_values_are_left_for_execute():
    assert is_runtime_value("{{ ds }}") and is_runtime_value("{% if x %}y{% endif %}")
    assert not is_runtime_value("Running") and not is_runtime_value(3)
