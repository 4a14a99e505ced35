"""Neptune ML data processing run as a processing job runs it (``python3 -m …`` in a job tree): features of
every type, node and edge targets with seeded or custom splits, the output layout, and bad input failing
the job through ``/opt/ml/output/failure``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy
import pytest

from containers.neptune_ml.features import apply

REPO = Path(__file__).resolve().parents[3]

USERS = """~id,age,gender,joined,fold,tags,note
u1,21,F,2020-01-06T09:00:00,train,a;b,x
u2,35,M,2021-05-02T18:00:00,valid,b,
u3,52,F,2022-07-03T00:00:00,test,,y
u4,44,M,2023-03-04T00:00:00,,c,x
u5,,F,2023-03-05T00:00:00,train,a,
"""
MOVIES = """~id,genre,title,year
m1,Drama,"Tokyo, Story",1953
m2,Action,Heat,1995
m3,Drama;Crime,The Godfather,1972
"""
RATED = """~id,~from,~to,score,kind
r1,u1,m1,5,good
r2,u2,m1,3,meh
r3,u3,m2,4,good
r4,u4,m3,1,bad
r5,u5,m2,,good
"""
FRIEND = """~id,~from,~to
f1,u1,u2
f2,u3,u4
f3,u5,u1
"""


def user_entry(**label: Any) -> dict[str, Any]:
    return {"file_name": "nodes/user-1.csv", "separator": ",", "node": ["~id", "user"],
            "features": [{"feature": ["age", "age", "bucket_numerical"], "range": [0, 100], "bucket_cnt": 4,
                          "imputer": "median"},
                         {"feature": ["joined", "joined", "datetime"], "datetime_parts": ["year", "weekday"]},
                         {"feature": ["tags", "tags", "auto"], "separator": ";"},
                         {"feature": ["note", "note", "none"]}],
            "labels": [label] if label else []}


def movie_entry(**label: Any) -> dict[str, Any]:
    return {"file_name": "nodes/movie-1.csv", "separator": ",", "node": ["~id", "movie"],
            "features": [{"feature": ["title", "title", "text_tfidf"], "ngram_range": [1, 1], "min_df": 1,
                          "max_features": 20},
                         {"feature": ["year", "year", "numerical"], "norm": "standard", "imputer": "mean"}],
            "labels": [label] if label else []}


def rated_entry(**label: Any) -> dict[str, Any]:
    return {"file_name": "edges/user-rated-movie-1.csv", "separator": ",", "source": ["~from", "user"],
            "relation": ["", "rated"], "dest": ["~to", "movie"],
            "features": [] if label else [{"feature": ["score", "score", "numerical"], "imputer": "median"}],
            "labels": [label] if label else []}


def friend_entry(**label: Any) -> dict[str, Any]:
    return {"file_name": "edges/user-friend-user-1.csv", "separator": ",", "source": ["~from", "user"],
            "relation": ["", "friend"], "dest": ["~to", "user"], "features": [],
            "labels": [label] if label else []}


def config(nodes: list[dict], edges: list[dict]) -> dict[str, Any]:
    return {"version": "v2.0", "query_engine": "gremlin", "graph": {"nodes": nodes, "edges": edges}, "warnings": []}


def run_processing(base: Path, document: dict | str, *arguments: str,
                   files: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Lay out a processing job's tree under ``base`` (the export in its input) and run the program."""
    source = base / "processing" / "input"
    for name, text in (files or {"nodes/user-1.csv": USERS, "nodes/movie-1.csv": MOVIES,
                                 "edges/user-rated-movie-1.csv": RATED, "edges/user-friend-user-1.csv": FRIEND}).items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    text = document if isinstance(document, str) else json.dumps(document)
    (source / "training-data-configuration.json").write_text(text)
    args = list(arguments) or ["--config-file-name", "training-data-configuration.json",
                               "--model-type", "heterogeneous", "--seed", "0"]
    return subprocess.run([sys.executable, "-m", "containers.neptune_ml.processing", *args], cwd=REPO,
                          env={**os.environ, "SAGEMAKER_BASE_DIR": str(base)}, capture_output=True, text=True,
                          timeout=120)


def output(base: Path) -> Path:
    return base / "processing" / "output"


def npz(path: Path) -> dict[str, numpy.ndarray]:
    with numpy.load(path) as data:
        return {name: data[name] for name in data.files}


def test_node_classification_with_a_custom_split_and_every_feature_type(tmp_path: Path) -> None:
    label = {"label": ["gender", "classification"], "split_rate": [0.8, 0.1, 0.1], "custom_split_property": "fold"}
    done = run_processing(tmp_path, config([user_entry(**label), movie_entry()], [rated_entry(), friend_entry()]))
    assert done.returncode == 0, done.stderr
    out = output(tmp_path)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "edges/user__friend__user.ids.json", "edges/user__friend__user.npz",
        "edges/user__rated__movie.ids.json", "edges/user__rated__movie.npz",
        "feature_transforms.json", "metadata.json", "model-HPO-configuration.json",
        "nodes/movie.ids.json", "nodes/movie.npz", "nodes/user.ids.json", "nodes/user.npz"]
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["format"] == "mlharbor-neptune-ml/1" and metadata["model_type"] == "heterogeneous"
    # user: 4 age buckets + 4 years + 7 weekdays + 3 tags (auto -> category) + 0 (none)
    assert metadata["node_types"] == {"user": {"count": 5, "feature_dim": 18}, "movie": {"count": 3, "feature_dim": 6}}
    assert metadata["edge_types"] == [
        {"key": "user__rated__movie", "src": "user", "relation": "rated", "dst": "movie", "count": 5, "feature_dim": 1},
        {"key": "user__friend__user", "src": "user", "relation": "friend", "dst": "user", "count": 3, "feature_dim": 0}]
    assert metadata["target"] == {"kind": "node", "type": "user", "property": "gender", "task": "node_class",
                                  "classes": ["F", "M"], "split_rate": [0.8, 0.1, 0.1],
                                  "custom_split_property": "fold"}
    assert metadata["seed"] == 0
    assert json.loads((out / "nodes/user.ids.json").read_text()) == ["u1", "u2", "u3", "u4", "u5"]
    user = npz(out / "nodes/user.npz")
    assert user["features"].dtype == numpy.float32 and user["features"].shape == (5, 18)
    assert user["labels"].tolist() == [0, 1, 0, 1, 0] and user["labels"].dtype == numpy.int64
    assert user["train_mask"].tolist() == [True, False, False, False, True]  # the fold column, not split_rate
    assert user["val_mask"].tolist() == [False, True, False, False, False]
    assert user["test_mask"].tolist() == [False, False, True, False, False]  # u4 has no fold: no split
    assert "labels" not in npz(out / "nodes/movie.npz")
    rated = npz(out / "edges/user__rated__movie.npz")
    assert rated["src"].tolist() == [0, 1, 2, 3, 4] and rated["dst"].tolist() == [0, 0, 1, 2, 1]
    assert rated["src"].dtype == numpy.int64 and rated["features"].shape == (5, 1)
    assert json.loads((out / "edges/user__rated__movie.ids.json").read_text()) == ["r1", "r2", "r3", "r4", "r5"]

    transforms = json.loads((out / "feature_transforms.json").read_text())
    assert [t["property"] for t in transforms["nodes"]["user"]] == ["age", "joined", "tags", "note"]
    assert [t["encoder"]["type"] for t in transforms["nodes"]["user"]] == [
        "bucket_numerical", "datetime", "category", "none"]
    columns = {"age": ["21", "35", "52", "44", None], "joined": ["2020-01-06T09:00:00", "2021-05-02T18:00:00",
               "2022-07-03T00:00:00", "2023-03-04T00:00:00", "2023-03-05T00:00:00"],
               "tags": ["a;b", "b", None, "c", "a"], "note": ["x", None, "y", "x", None]}
    rebuilt = numpy.concatenate([apply(t["encoder"], columns[t["property"]]) for t in transforms["nodes"]["user"]],
                                axis=1)
    assert numpy.array_equal(rebuilt, user["features"])  # an endpoint re-encodes a vertex exactly
    assert transforms["edges"]["user__rated__movie"][0]["property"] == "score"

    hpo = json.loads((out / "model-HPO-configuration.json").read_text())
    model = hpo["models"][0]
    assert (model["model"], model["task_type"], model["eval_metric"], model["eval_comparison"]) == (
        "rgcn", "node_class", {"metric": "acc"}, ">")
    assert {p["param"] for p in model["1-tier-param"]} == {"num-hidden", "num-epochs", "lr"}
    assert {p["param"]: p["default"] for p in model["fixed-param"]}["layers"] == 2


def labelled_nodes(count: int) -> str:
    return "~id,kind,size\n" + "".join(f"n{i},{'ab'[i % 2] if i % 5 else ''},{i}\n" for i in range(count))


def test_split_rate_is_seeded_and_covers_only_labelled_nodes(tmp_path: Path) -> None:
    files = {"nodes/n-1.csv": labelled_nodes(50)}
    entry = {"file_name": "nodes/n-1.csv", "node": ["~id", "n"], "features": [],
             "labels": [{"label": ["kind", "classification"], "split_rate": [0.5, 0.25, 0.25]}]}
    masks = []
    for seed in ("0", "0", "7"):
        base = tmp_path / f"run{len(masks)}"
        done = run_processing(base, config([entry], []), "--seed", seed, files=files)
        assert done.returncode == 0, done.stderr
        masks.append(npz(output(base) / "nodes/n.npz"))
    first = masks[0]
    labelled = first["labels"] >= 0
    assert labelled.sum() == 40 and (first["labels"][~labelled] == -1).all()
    assert (first["train_mask"].sum(), first["val_mask"].sum(), first["test_mask"].sum()) == (20, 10, 10)
    together = first["train_mask"].astype(int) + first["val_mask"] + first["test_mask"]
    assert (together[labelled] == 1).all() and (together[~labelled] == 0).all()
    assert numpy.array_equal(first["train_mask"], masks[1]["train_mask"])  # same seed, same split
    assert not numpy.array_equal(first["train_mask"], masks[2]["train_mask"])


def test_multi_class_labels_with_a_separator(tmp_path: Path) -> None:
    label = {"label": ["genre", "classification"], "split_rate": [1.0, 0.0, 0.0], "separator": ";"}
    done = run_processing(tmp_path, config([user_entry(), movie_entry(**label)], [rated_entry(), friend_entry()]))
    assert done.returncode == 0, done.stderr
    movie = npz(output(tmp_path) / "nodes/movie.npz")
    metadata = json.loads((output(tmp_path) / "metadata.json").read_text())
    assert metadata["target"]["classes"] == ["Action", "Crime", "Drama"] and metadata["target"]["separator"] == ";"
    assert movie["labels"].tolist() == [2, 0, 2]  # the first listed class
    assert movie["label_multi_hot"].tolist() == [[False, False, True], [True, False, False], [False, True, True]]
    assert movie["train_mask"].all()


def test_node_regression_keeps_raw_labels_with_their_statistics(tmp_path: Path) -> None:
    label = {"label": ["age", "regression"], "split_rate": [1.0, 0.0, 0.0]}
    entry = user_entry(**label)
    entry["features"] = entry["features"][1:]  # age is the label now
    done = run_processing(tmp_path, config([entry, movie_entry()], [rated_entry(), friend_entry()]))
    assert done.returncode == 0, done.stderr
    user = npz(output(tmp_path) / "nodes/user.npz")
    assert user["labels"].dtype == numpy.float32 and user["labels"][:4].tolist() == [21, 35, 52, 44]
    assert numpy.isnan(user["labels"][4]) and user["train_mask"].tolist() == [True] * 4 + [False]
    target = json.loads((output(tmp_path) / "metadata.json").read_text())["target"]
    assert target["task"] == "node_regression" and target["classes"] is None
    assert target["label_mean"] == pytest.approx(38.0) and target["label_std"] == pytest.approx(11.5108643)  # population std of 21, 35, 52, 44
    model = json.loads((output(tmp_path) / "model-HPO-configuration.json").read_text())["models"][0]
    assert (model["eval_metric"], model["eval_comparison"]) == ({"metric": "rmse"}, "<")


@pytest.mark.parametrize(("label", "task", "values"), [
    ({"label": ["kind", "classification"], "split_rate": [0.6, 0.2, 0.2]}, "edge_class", [1, 2, 1, 0, 1]),
    ({"label": ["score", "regression"], "split_rate": [0.6, 0.2, 0.2]}, "edge_regression", [5, 3, 4, 1, None]),
])
def test_edge_targets(tmp_path: Path, label: dict, task: str, values: list) -> None:
    done = run_processing(tmp_path, config([user_entry(), movie_entry()], [rated_entry(**label), friend_entry()]))
    assert done.returncode == 0, done.stderr
    rated = npz(output(tmp_path) / "edges/user__rated__movie.npz")
    got = [None if isinstance(v, float) and numpy.isnan(v) else v for v in rated["labels"].tolist()]
    assert got == values
    labelled = sum(v is not None for v in values)
    assert rated["train_mask"].sum() + rated["val_mask"].sum() + rated["test_mask"].sum() == labelled
    target = json.loads((output(tmp_path) / "metadata.json").read_text())["target"]
    assert (target["kind"], target["type"], target["task"]) == ("edge", "user__rated__movie", task)


def test_link_prediction_on_one_edge_type_then_on_every_type_with_kge(tmp_path: Path) -> None:
    label = {"label": ["", "link_prediction"], "split_rate": [0.6, 0.2, 0.2]}
    done = run_processing(tmp_path / "one", config([user_entry(), movie_entry()],
                                                   [rated_entry(**label), friend_entry()]))
    assert done.returncode == 0, done.stderr
    rated = npz(output(tmp_path / "one") / "edges/user__rated__movie.npz")
    assert (rated["train_mask"].sum(), rated["val_mask"].sum(), rated["test_mask"].sum()) == (3, 1, 1)
    assert "train_mask" not in npz(output(tmp_path / "one") / "edges/user__friend__user.npz")
    target = json.loads((output(tmp_path / "one") / "metadata.json").read_text())["target"]
    assert (target["task"], target["type"], target["property"]) == ("link_predict", "user__rated__movie", None)

    done = run_processing(tmp_path / "all", config([user_entry(), movie_entry()], [rated_entry(), friend_entry()]),
                          "--model-type", "kge")
    assert done.returncode == 0, done.stderr
    assert "link prediction over every edge type" in done.stdout
    metadata = json.loads((output(tmp_path / "all") / "metadata.json").read_text())
    assert metadata["target"]["type"] is None and metadata["model_type"] == "kge"
    for key in ("user__rated__movie", "user__friend__user"):
        assert npz(output(tmp_path / "all") / f"edges/{key}.npz")["train_mask"].any()
    model = json.loads((output(tmp_path / "all") / "model-HPO-configuration.json").read_text())["models"][0]
    assert (model["model"], model["task_type"], model["eval_metric"]) == ("distmult", "link_predict", {"metric": "mrr"})


def test_several_targets_train_on_the_first_with_a_warning(tmp_path: Path) -> None:
    done = run_processing(tmp_path, config([user_entry(label=["gender", "classification"]),
                                            movie_entry(label=["year", "regression"])],
                                           [rated_entry(), friend_entry()]))
    assert done.returncode == 0, done.stderr
    assert "2 targets in the configuration: training on the first" in done.stdout
    assert json.loads((output(tmp_path) / "metadata.json").read_text())["target"]["property"] == "gender"


@pytest.mark.parametrize(("document", "arguments", "files", "reason"), [
    ("{not json", (), None, "is not valid JSON"),
    ({"version": "v1.0", "graph": {"nodes": [], "edges": []}}, (), None, "version must be \"v2.0\""),
    (config([user_entry(label=["gender", "ranking"])], []), (), None, "label type 'ranking' is not one of"),
    (config([{**user_entry(), "features": [{"feature": ["age", "age", "text_sbert"]}]}], []), (), None,
     "feature type 'text_sbert' is not supported"),
    (config([{**user_entry(label=["gender", "classification"]), "features": [{"feature": ["age", "age", "numerical"]}]}],
            []), (), None,
     "feature 'age' (numerical): numerical: a value is missing and no imputer is given"),
    (config([user_entry(label=["note", "regression"])], []), (), None, "has the value 'x', not a number"),
    (config([user_entry(), {**movie_entry(), "file_name": "nodes/absent.csv"}], []), (), None,
     "nodes/absent.csv: the configuration names this file but the input has no such file"),
    (config([user_entry()], [friend_entry()]), (), {"nodes/user-1.csv": USERS, "edges/user-friend-user-1.csv":
                                                    "~id,~from,~to\nf1,u1,ghost\n"},
     "edges/user-friend-user-1.csv:2: 'ghost' is not a 'user' vertex"),
    (config([user_entry(label=["gender", "classification"])], []), ("--model-type", "kge"), None,
     "--model-type kge trains link prediction only"),
    (config([user_entry()], []), ("--model-type", "dgl"), None, "bad arguments: argument --model-type"),
])
def test_bad_input_fails_the_job_with_the_reason(tmp_path: Path, document: Any, arguments: tuple, files: Any,
                                                 reason: str) -> None:
    done = run_processing(tmp_path, document, *arguments, files=files)
    assert done.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.startswith("neptune-ml data processing: ") and reason in failure, failure


def test_a_vertex_type_without_a_node_file_takes_its_ids_from_its_edges(tmp_path: Path) -> None:
    files = {"nodes/user-1.csv": USERS, "edges/user-rated-movie-1.csv": RATED}
    done = run_processing(tmp_path, config([user_entry(label=["gender", "classification"])], [rated_entry()]),
                          files=files)
    assert done.returncode == 0, done.stderr
    metadata = json.loads((output(tmp_path) / "metadata.json").read_text())
    assert metadata["node_types"]["movie"] == {"count": 3, "feature_dim": 0}
    assert json.loads((output(tmp_path) / "nodes/movie.ids.json").read_text()) == ["m1", "m2", "m3"]
    assert npz(output(tmp_path) / "nodes/movie.npz")["features"].shape == (3, 0)
