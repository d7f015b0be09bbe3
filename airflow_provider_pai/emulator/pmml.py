"""A small PMML evaluator for the emulator's ``pmml`` processor (regression models only).

No maintained pure-Python PMML evaluator exists (pypmml, pmml4s and jpmml-evaluator need a JVM;
sklearn-pmml-model needs scikit-learn), so this reads the document with ``xml.etree`` and scores
``RegressionModel`` (regression and classification) and the ``regression`` /
``logisticRegression`` / ``generalizedLinear`` subset of ``GeneralRegressionModel`` as the
PMML 4.4 specification defines them (https://dmg.org/pmml/v4-4-1/Regression.html,
https://dmg.org/pmml/v4-4-1/GeneralRegression.html). Anything else is refused when the model is
loaded, so a document the emulator cannot score fails its deploy instead of answering wrongly.

Inputs follow the EAS PMML processor (docs/cloud-fidelity.md F-PMML-1..3): a JSON array of
records keyed by the DataDictionary field names; a missing field takes the MiningField's
``missingValueReplacement`` or, without one, the processor's per-type default (0.0, 0, false, "").
Each record answers one object: the target field's predicted value plus the model's
``OutputField``s (``predictedValue`` and ``probability``).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any


class PmmlError(ValueError):
    """The document cannot be loaded (load time) or a record cannot be scored (request time)."""


# F-PMML-2: the EAS PMML processor's defaults for a feature without an isMissing policy.
_MISSING_DEFAULT = {"boolean": False, "double": 0.0, "float": 0.0, "integer": 0, "string": ""}
_NUMERIC = ("double", "float", "integer")
_LINKS = {  # PMML 4.4 RegressionModel normalizationMethod, applied to one value
    "none": lambda y: y,
    "logit": lambda y: 1.0 / (1.0 + math.exp(-y)) if y > -700 else 0.0,
    "exp": lambda y: math.exp(min(y, 700.0)),
    "probit": lambda y: 0.5 * (1.0 + math.erf(y / math.sqrt(2.0))),
    "cloglog": lambda y: 1.0 - math.exp(-math.exp(min(y, 700.0))),
    "loglog": lambda y: math.exp(-math.exp(-max(y, -700.0))),
    "cauchit": lambda y: 0.5 + math.atan(y) / math.pi,
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    found = _children(elem, name)
    return found[0] if found else None


def _float(elem: ET.Element, attr: str, default: float | None = None) -> float:
    raw = elem.get(attr)
    if raw is None:
        if default is None:
            raise PmmlError(f"<{_local(elem.tag)}> needs the attribute {attr}")
        return default
    try:
        return float(raw)
    except ValueError:
        raise PmmlError(f"<{_local(elem.tag)} {attr}={raw!r}> is not a number") from None


@dataclass
class Term:
    """One additive term: coefficient * product of factors (each a function of the record)."""

    coefficient: float
    factors: list = field(default_factory=list)  # [(kind, field, arg)]: ("num", f, exponent) | ("cat", f, value)

    def value(self, row: dict) -> float:
        out = self.coefficient
        for kind, name, arg in self.factors:
            x = row[name]
            if kind == "num":
                out *= float(x) ** arg
            else:
                out *= 1.0 if _same(x, arg) else 0.0
        return out


@dataclass
class Table:
    intercept: float
    terms: list[Term]
    category: str | None = None

    def score(self, row: dict) -> float:
        return self.intercept + sum(t.value(row) for t in self.terms)


@dataclass
class Model:
    function: str  # "regression" | "classification"
    target: str
    link: str
    tables: list[Table]
    fields: dict[str, str]  # active field -> dataType
    replacements: dict[str, Any]
    outputs: list[tuple[str, str, str | None]]  # (name, feature, value)
    target_type: str = "string"

    def score(self, record: Any) -> dict:
        row = self._prepare(record)
        best: str | None = None  # a regression has no categories, so no probability to answer
        probabilities: dict[str, float] = {}
        if self.function == "regression":
            value = _LINKS["logit" if self.link == "softmax" else self.link](self.tables[0].score(row))
            result = {self.target: value}
        else:
            cats = self._categories()
            probabilities = self._probabilities(cats, [t.score(row) for t in self.tables])
            best = max(cats, key=probabilities.__getitem__)
            result = {self.target: _typed(best, self.target_type)}
        for name, feature, value in self.outputs:
            if feature == "predictedValue":
                result[name] = result[self.target]
            elif feature == "probability":
                key = value if value is not None else best
                if key not in probabilities:
                    raise PmmlError(f"OutputField {name}: no probability for category {key!r}")
                result[name] = probabilities[key]
        return result

    def _categories(self) -> list[str]:
        """The classification tables' targetCategory values, in table order."""
        cats = [t.category for t in self.tables if t.category is not None]
        assert len(cats) == len(self.tables), "load() refuses a classification table without targetCategory"
        return cats

    def _probabilities(self, cats: list[str], ys: list[float]) -> dict[str, float]:
        if self.link == "softmax":
            top = max(ys)
            exps = [math.exp(y - top) for y in ys]
            ps = [e / sum(exps) for e in exps]
        elif self.link == "simplemax":
            total = sum(ys)
            if total == 0:
                raise PmmlError("simplemax: the tables' values sum to 0")
            ps = [y / total for y in ys]
        else:
            # Binary (and ordinal) classification: the link gives all but the last category; the
            # last takes what is left (PMML 4.4 RegressionModel, "Classification").
            ps = [_LINKS[self.link](y) for y in ys[:-1]]
            ps.append(1.0 - sum(ps))
        return dict(zip(cats, ps, strict=True))

    def _prepare(self, record: Any) -> dict:
        if not isinstance(record, dict):
            raise PmmlError(f"each record must be a JSON object keyed by field name, got {type(record).__name__}")
        row = {}
        for name, data_type in self.fields.items():
            value = record.get(name)
            if value is None:
                value = self.replacements.get(name, _MISSING_DEFAULT.get(data_type, 0.0))
            row[name] = _convert(name, value, data_type)
        return row


def _same(x: Any, category: str) -> bool:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        try:
            return float(category) == float(x)
        except ValueError:
            return False
    return str(x).lower() == category.lower() if isinstance(x, bool) else str(x) == category


def _typed(category: str, data_type: str) -> Any:
    """A category as the target's dataType (an integer target answers 1, not "1")."""
    try:
        return int(category) if data_type == "integer" else float(category) if data_type in _NUMERIC else category
    except ValueError:
        return category


def _convert(name: str, value: Any, data_type: str) -> Any:
    if data_type in _NUMERIC:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise PmmlError(f"field {name!r} is {data_type}; {value!r} is not a number") from None
    if data_type == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value if isinstance(value, str) else str(value)


def load(document: bytes | str) -> Model:
    """Parse a PMML document; PmmlError says what is missing or not supported."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise PmmlError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "PMML":
        raise PmmlError(f"the root element is <{_local(root.tag)}>, not <PMML>")
    dictionary = _child(root, "DataDictionary")
    if dictionary is None:
        raise PmmlError("no <DataDictionary>")
    data_fields = {name: f for f in _children(dictionary, "DataField") if (name := f.get("name")) is not None}
    types = {name: (f.get("dataType") or "double").lower() for name, f in data_fields.items()}
    models = [c for c in root if _local(c.tag) in ("RegressionModel", "GeneralRegressionModel")]
    if not models:
        kinds = sorted({_local(c.tag) for c in root} - {"Header", "DataDictionary", "TransformationDictionary", "Extension"})
        raise PmmlError(f"the emulator scores RegressionModel and GeneralRegressionModel only, found {kinds}")
    elem = models[0]
    function = elem.get("functionName")
    if function not in ("regression", "classification"):
        raise PmmlError(f"functionName {function!r} is not supported (regression or classification)")
    schema = _child(elem, "MiningSchema")
    if schema is None:
        raise PmmlError(f"<{_local(elem.tag)}> has no <MiningSchema>")
    active: dict[str, str] = {}
    replacements: dict[str, Any] = {}
    target = elem.get("targetFieldName")
    for mf in _children(schema, "MiningField"):
        name, usage = mf.get("name"), mf.get("usageType", "active")
        if name is None or name not in types:
            raise PmmlError(f"MiningField {name!r} is not in the DataDictionary")
        if usage in ("target", "predicted"):
            target = target or name
        elif usage == "active":
            active[name] = types[name]
            if mf.get("missingValueReplacement") is not None:
                replacements[name] = mf.get("missingValueReplacement")
    if not target:
        raise PmmlError("the MiningSchema names no target field (usageType=\"target\")")
    if _local(elem.tag) == "RegressionModel":
        link, tables = _regression_tables(elem, active)
    else:
        categories = [v.get("value") for v in _children(data_fields[target], "Value")]
        link, tables = _general_regression(elem, active, categories)
    if function == "classification" and (len(tables) < 2 or any(t.category is None for t in tables)):
        raise PmmlError("a classification model needs one RegressionTable per targetCategory (at least 2)")
    if function == "regression" and len(tables) != 1:
        raise PmmlError("a regression model has exactly one RegressionTable")
    if link not in _LINKS and link not in ("softmax", "simplemax"):
        raise PmmlError(f"normalizationMethod {link!r} is not supported")
    outputs: list[tuple[str, str, str | None]] = []
    out = _child(elem, "Output")
    for of in _children(out, "OutputField") if out is not None else []:
        feature = of.get("feature", "predictedValue")
        if feature not in ("predictedValue", "probability"):
            raise PmmlError(f"OutputField {of.get('name')!r}: feature {feature!r} is not supported")
        outputs.append((_name(of), feature, of.get("value")))
    return Model(function, target, link, tables, active, replacements, outputs, types[target])


def _name(elem: ET.Element) -> str:
    """The name attribute PMML requires (an answer keyed by no name could not be returned)."""
    name = elem.get("name")
    if name is None:
        raise PmmlError(f"<{_local(elem.tag)}> needs the attribute name")
    return name


def _need(name: str | None, active: dict, where: str) -> str:
    if name is None or name not in active:
        raise PmmlError(f"{where} uses {name!r}, which is not an active MiningField")
    return name


def _regression_tables(elem: ET.Element, active: dict) -> tuple[str, list[Table]]:
    tables = []
    for rt in _children(elem, "RegressionTable"):
        terms = []
        for p in _children(rt, "NumericPredictor"):
            name = _need(p.get("name"), active, "NumericPredictor")
            terms.append(Term(_float(p, "coefficient"), [("num", name, _float(p, "exponent", 1.0))]))
        for p in _children(rt, "CategoricalPredictor"):
            name = _need(p.get("name"), active, "CategoricalPredictor")
            terms.append(Term(_float(p, "coefficient"), [("cat", name, p.get("value", ""))]))
        for p in _children(rt, "PredictorTerm"):
            refs = [("num", _need(r.get("field"), active, "PredictorTerm"), 1.0) for r in _children(p, "FieldRef")]
            terms.append(Term(_float(p, "coefficient"), refs))
        tables.append(Table(_float(rt, "intercept", 0.0), terms, rt.get("targetCategory")))
    return elem.get("normalizationMethod", "none"), tables


def _general_regression(elem: ET.Element, active: dict, categories: list) -> tuple[str, list[Table]]:
    """GeneralRegressionModel: ParamMatrix betas over PPMatrix cells (factors and covariates)."""
    model_type = elem.get("modelType")
    links = {"regression": "none", "generalLinear": "none", "logisticRegression": "logit"}
    if model_type == "generalizedLinear":
        link = {"identity": "none", "logit": "logit", "log": "exp", "probit": "probit",
                "cloglog": "cloglog", "loglog": "loglog", "cauchit": "cauchit"}.get(elem.get("linkFunction") or "")
        if link is None:
            raise PmmlError(f"linkFunction {elem.get('linkFunction')!r} is not supported")
    elif model_type in links:
        link = links[model_type]
    else:
        raise PmmlError(f"GeneralRegressionModel modelType {model_type!r} is not supported")
    cells: dict[str | None, list] = {}  # keyed by parameterName, which a PCell names (or not) alike
    pp = _child(elem, "PPMatrix")
    for cell in _children(pp, "PPCell") if pp is not None else []:
        name = _need(cell.get("predictorName"), active, "PPCell")
        kind = "cat" if active[name] == "string" else "num"
        arg = cell.get("value", "") if kind == "cat" else _float(cell, "value", 1.0)
        cells.setdefault(cell.get("parameterName"), []).append((kind, name, arg))
    by_category: dict[str | None, Table] = {}
    matrix = _child(elem, "ParamMatrix")
    for pcell in _children(matrix, "PCell") if matrix is not None else []:
        cat = pcell.get("targetCategory")
        table = by_category.setdefault(cat, Table(0.0, [], cat))
        factors = cells.get(pcell.get("parameterName"), [])
        if factors:
            table.terms.append(Term(_float(pcell, "beta"), list(factors)))
        else:  # a parameter with no PPCell is the intercept
            table.intercept += _float(pcell, "beta")
    tables = list(by_category.values())
    if elem.get("functionName") == "classification":
        # The reference category carries no PCells: it is the last table, with y = 0.
        seen = {t.category for t in tables}
        rest = [c for c in categories if c not in seen]
        tables.append(Table(0.0, [], rest[0] if rest else None))
    return link, tables


def score(model: Model, payload: Any) -> list[dict]:
    """Score an EAS PMML request body: a JSON array of records (F-PMML-1)."""
    if not isinstance(payload, list):
        raise PmmlError('the request must be a JSON array of records, e.g. [{"field": 1.0}]')
    return [model.score(r) for r in payload]
