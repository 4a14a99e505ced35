"""Neptune ML on a generated heterogeneous graph with a planted signal (``examples.neptune_ml.planted``), the
whole path through boto3 ``neptunedata`` and gremlinpython.

Two vertex types (user, item), two edge types (follows, buys). The user's ``score`` is the mean of a linear
function of the bought items' features, and a buys edge's ``kind`` depends mostly on the mean of the followed
users' features: neither is visible in a vertex's own features. Margins stated here: node regression's test
RMSE through Gremlin ``properties("score").with("Neptune#ml.regression")`` is at most 60 % of a ridge regression
on the user's own features; edge classification's test accuracy through Gremlin
``E(..).properties("kind").with("Neptune#ml.classification")`` beats a logistic regression on both ends' own
features by at least 10 points.
"""

from __future__ import annotations

import numpy as np
import pytest

from examples.neptune_ml import planted
from examples.neptune_ml.run_cora import PipelineRun
from examples.neptune_ml.workflow import NeptuneML, accuracy, gremlin, predict_edge_property, predict_vertex_property

pytestmark = pytest.mark.slow

RMSE_RATIO = 0.6
ACCURACY_MARGIN = 0.10


def test_the_planted_graph_is_loaded_with_both_types_of_vertices_and_edges(
        planted_ml: NeptuneML, planted_graph: planted.PlantedGraph) -> None:
    with gremlin(planted_ml.graph_url) as g:
        labels = g.V().label().group_count().next()
        edges = g.E().label().group_count().next()
        score = g.V("u0").values("score").next()
    assert labels == {"user": len(planted_graph.user_ids), "item": len(planted_graph.item_ids)}
    assert edges == {"follows": len(planted_graph.follows), "buys": len(planted_graph.buys)}
    assert score == pytest.approx(planted_graph.score[0], abs=1e-5)


def test_node_regression_beats_the_feature_only_baseline(
        planted_ml: NeptuneML, planted_graph: planted.PlantedGraph, planted_score: PipelineRun) -> None:
    test = [n for n, split in enumerate(planted_graph.user_split) if split == "test"]
    ids = [planted_graph.user_ids[n] for n in test]
    with gremlin(planted_ml.graph_url) as g:
        predicted = predict_vertex_property(g, planted_score.endpoint_id, ids, "score", task="regression")
    errors = np.array([float(predicted[planted_graph.user_ids[n]]) - planted_graph.score[n] for n in test])
    rmse = float(np.sqrt(np.mean(errors ** 2)))
    baseline_rmse, _ = planted.feature_only_baselines(planted_graph)
    print(f"\nplanted node regression: Gremlin test RMSE {rmse:.3f}, feature-only ridge {baseline_rmse:.3f}, "
          f"label std {planted_graph.score[test].std():.3f}")
    assert rmse <= RMSE_RATIO * baseline_rmse


def test_edge_classification_beats_the_feature_only_baseline(
        planted_ml: NeptuneML, planted_graph: planted.PlantedGraph, planted_kind: PipelineRun) -> None:
    ids = planted_graph.buys_ids()
    truth = {ids[n]: kind for n, (kind, split) in enumerate(zip(planted_graph.kind, planted_graph.buys_split,
                                                                  strict=True)) if split == "test"}
    with gremlin(planted_ml.graph_url) as g:
        predicted = predict_edge_property(g, planted_kind.endpoint_id, sorted(truth), "kind")
    edge_accuracy = accuracy(predicted, truth)
    _, baseline_accuracy = planted.feature_only_baselines(planted_graph)
    print(f"\nplanted edge classification: Gremlin test accuracy {edge_accuracy:.4f}, "
          f"feature-only logistic {baseline_accuracy:.4f}")
    assert edge_accuracy >= baseline_accuracy + ACCURACY_MARGIN
