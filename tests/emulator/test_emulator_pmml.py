"""The emulator's PMML evaluator against values computed by hand from the PMML 4.4 formulas."""

from __future__ import annotations

import math

import pytest

from airflow_provider_pai.emulator.pmml import PmmlError, load, score


def sigmoid(y: float) -> float:
    return 1.0 / (1.0 + math.exp(-y))


def doc(model: str, fields: str) -> str:
    return f'<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><DataDictionary>{fields}</DataDictionary>{model}</PMML>'


FIELDS = ('<DataField name="x1" optype="continuous" dataType="double"/>'
          '<DataField name="x2" optype="continuous" dataType="double"/>'
          '<DataField name="color" optype="categorical" dataType="string"/>'
          '<DataField name="y" optype="continuous" dataType="double"/>')
SCHEMA = ('<MiningSchema><MiningField name="x1"/><MiningField name="x2" missingValueReplacement="3"/>'
          '<MiningField name="color"/><MiningField name="y" usageType="target"/></MiningSchema>')
TABLE = ('<RegressionTable intercept="0.5"><NumericPredictor name="x1" coefficient="2"/>'
         '<NumericPredictor name="x2" exponent="2" coefficient="-0.5"/>'
         '<CategoricalPredictor name="color" value="red" coefficient="1.5"/>'
         '<PredictorTerm coefficient="0.25"><FieldRef field="x1"/><FieldRef field="x2"/></PredictorTerm>'
         '</RegressionTable>')


def linear(norm: str = "none") -> str:
    return doc(f'<RegressionModel functionName="regression" normalizationMethod="{norm}">{SCHEMA}{TABLE}</RegressionModel>', FIELDS)


def by_hand(x1, x2, red):
    return 0.5 + 2 * x1 - 0.5 * x2 ** 2 + (1.5 if red else 0.0) + 0.25 * x1 * x2


def test_linear_regression_sums_numeric_categorical_and_interaction_terms():
    rows = [{"x1": 1.0, "x2": 2.0, "color": "red"}, {"x1": -1, "x2": 0.5, "color": "blue"}]
    got = score(load(linear()), rows)
    assert got == [{"y": pytest.approx(by_hand(1, 2, True))}, {"y": pytest.approx(by_hand(-1, 0.5, False))}]


def test_regression_logit_squashes_the_sum():
    (got,) = score(load(linear("logit")), [{"x1": 0.2, "x2": 1.0, "color": "red"}])
    assert got["y"] == pytest.approx(sigmoid(by_hand(0.2, 1.0, True)))


def test_missing_field_takes_its_replacement_else_the_eas_type_default():
    # x2 has missingValueReplacement=3; x1 has none: EAS's default for double is 0.0; color "".
    (got,) = score(load(linear()), [{}])
    assert got["y"] == pytest.approx(by_hand(0.0, 3.0, False))


BINARY_FIELDS = ('<DataField name="a" optype="continuous" dataType="double"/>'
                 '<DataField name="label" optype="categorical" dataType="integer"><Value value="1"/><Value value="0"/></DataField>')
BINARY_SCHEMA = '<MiningSchema><MiningField name="a"/><MiningField name="label" usageType="target"/></MiningSchema>'
OUTPUT = ('<Output><OutputField name="p1" feature="probability" value="1"/>'
          '<OutputField name="p0" feature="probability" value="0"/><OutputField name="pred" feature="predictedValue"/></Output>')


def test_binary_logistic_regression_gives_probabilities_and_the_likelier_class():
    model = load(doc(
        '<RegressionModel functionName="classification" normalizationMethod="logit">'
        f'{BINARY_SCHEMA}{OUTPUT}'
        '<RegressionTable intercept="-1" targetCategory="1"><NumericPredictor name="a" coefficient="0.8"/></RegressionTable>'
        '<RegressionTable intercept="0" targetCategory="0"/></RegressionModel>', BINARY_FIELDS))
    low, high = score(model, [{"a": 0}, {"a": 4}])
    assert low["p1"] == pytest.approx(sigmoid(-1)) and low["p0"] == pytest.approx(1 - sigmoid(-1))
    assert (low["label"], low["pred"]) == (0, 0)  # an integer target answers an integer
    assert high["p1"] == pytest.approx(sigmoid(-1 + 3.2)) and high["label"] == 1


def test_softmax_normalises_over_all_categories():
    fields = ('<DataField name="a" optype="continuous" dataType="double"/>'
              '<DataField name="k" optype="categorical" dataType="string"/>')
    model = load(doc(
        '<RegressionModel functionName="classification" normalizationMethod="softmax">'
        '<MiningSchema><MiningField name="a"/><MiningField name="k" usageType="target"/></MiningSchema>'
        '<Output><OutputField name="pb" feature="probability" value="b"/></Output>'
        '<RegressionTable intercept="1" targetCategory="a"><NumericPredictor name="a" coefficient="1"/></RegressionTable>'
        '<RegressionTable intercept="2" targetCategory="b"/>'
        '<RegressionTable intercept="0" targetCategory="c"/></RegressionModel>', fields))
    (got,) = score(model, [{"a": 0.5}])
    exps = [math.exp(1.5), math.exp(2), math.exp(0)]
    assert got["pb"] == pytest.approx(exps[1] / sum(exps)) and got["k"] == "b"


def test_general_regression_logistic_uses_param_and_pp_matrices():
    model = load(doc(
        '<GeneralRegressionModel functionName="classification" modelType="logisticRegression">'
        f'{BINARY_SCHEMA}{OUTPUT}'
        '<ParameterList><Parameter name="p0"/><Parameter name="p1"/></ParameterList>'
        '<PPMatrix><PPCell value="1" predictorName="a" parameterName="p1"/></PPMatrix>'
        '<ParamMatrix><PCell targetCategory="1" parameterName="p0" beta="-2"/>'
        '<PCell targetCategory="1" parameterName="p1" beta="0.5"/></ParamMatrix>'
        '</GeneralRegressionModel>', BINARY_FIELDS))
    (got,) = score(model, [{"a": 6}])
    assert got["p1"] == pytest.approx(sigmoid(-2 + 3)) and got["label"] == 1


@pytest.mark.parametrize("document, message", [
    ("<PMML><DataDictionary/>", "not well-formed"),
    (doc('<TreeModel functionName="classification"/>', FIELDS), "RegressionModel and GeneralRegressionModel only"),
    (linear("nonsense"), "normalizationMethod 'nonsense'"),
    (doc(f'<RegressionModel functionName="regression"><MiningSchema><MiningField name="zz"/></MiningSchema>{TABLE}</RegressionModel>', FIELDS),
     "'zz' is not in the DataDictionary"),
    (doc('<RegressionModel functionName="regression"><MiningSchema><MiningField name="x1"/>'
         '<MiningField name="y" usageType="target"/></MiningSchema>'
         '<Output><OutputField feature="predictedValue"/></Output>'
         '<RegressionTable intercept="1"/></RegressionModel>', FIELDS),
     "<OutputField> needs the attribute name"),
])
def test_documents_the_evaluator_cannot_score_are_refused_at_load(document, message):
    with pytest.raises(PmmlError, match=message):
        load(document)


def test_a_non_numeric_value_for_a_numeric_field_names_the_field():
    with pytest.raises(PmmlError, match="'x1' is double"):
        score(load(linear()), [{"x1": "many"}])


def test_the_request_must_be_an_array_of_records():
    with pytest.raises(PmmlError, match="JSON array of records"):
        score(load(linear()), {"instances": [[1, 2]]})


def test_a_regression_has_no_probability_to_answer():
    # A probability OutputField without a value names the predicted category, which a regression has not.
    model = load(doc(
        '<RegressionModel functionName="regression"><MiningSchema><MiningField name="x1"/>'
        '<MiningField name="y" usageType="target"/></MiningSchema>'
        '<Output><OutputField name="p" feature="probability"/></Output>'
        '<RegressionTable intercept="1"/></RegressionModel>', FIELDS))
    with pytest.raises(PmmlError, match="OutputField p: no probability for category None"):
        score(model, [{"x1": 1.0}])
