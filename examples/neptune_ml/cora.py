"""Cora as Neptune Gremlin bulk-load CSV with the properties a Neptune ML job trains on.

Every paper is a vertex labelled ``paper`` with ``subject`` (the class name: the node classification
target), ``split`` (the Planetoid split, ``train``/``val``/``test``/``none``: the mlharbor export's
``custom_split_property``) and ``words`` (the 1433-dimensional 0/1 bag of words as ONE string property,
``;``-separated: the export writes it as one column that data processing reads as a ``numerical`` vector
with separator ``;``). A ``Double[]`` property would not do: Neptune keeps array values as a set, and a set
of 0s and 1s is ``{0, 1}``. Citations are ``cites`` edges with the ids the demo's ETL gives them
(``cites:<from>:<to>``), so loading this over the demo's graph merges instead of duplicating.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

#: Cora's class names by the Planetoid label index (matched on the class sizes: Theory 351, Reinforcement_Learning
#: 217, Genetic_Algorithms 418, Neural_Networks 818, Probabilistic_Methods 426, Case_Based 298, Rule_Learning 180).
CLASS_NAMES = ("Theory", "Reinforcement_Learning", "Genetic_Algorithms", "Neural_Networks", "Probabilistic_Methods",
               "Case_Based", "Rule_Learning")
NUM_WORDS = 1433
VERTEX_LABEL = "paper"
EDGE_LABEL = "cites"


@dataclass(frozen=True)
class Paper:
    id: str
    subject: str
    split: str
    words: tuple[int, ...]


@dataclass(frozen=True)
class CoraGraph:
    papers: list[Paper]
    citations: list[tuple[str, str]]

    def subjects(self, split: str | None = None) -> dict[str, str]:
        """The true subject of every paper (of one split, when given), by id."""
        return {paper.id: paper.subject for paper in self.papers if split is None or paper.split == split}


def read(cora_dir: Path) -> CoraGraph:
    """The raw tables (``nodes.csv``: ``node_id,label,split,features``; ``edges.csv``: ``source,target``)."""
    with open(cora_dir / "nodes.csv", newline="") as table:
        papers = [Paper(row["node_id"], CLASS_NAMES[int(row["label"])], row["split"],
                        tuple(sorted({int(word) for word in row["features"].split()})))
                  for row in csv.DictReader(table)]
    with open(cora_dir / "edges.csv", newline="") as table:
        citations = [(row["source"], row["target"]) for row in csv.DictReader(table)]
    return CoraGraph(papers, citations)


def words_vector(words: tuple[int, ...]) -> str:
    present = set(words)
    return ";".join("1" if index in present else "0" for index in range(NUM_WORDS))


def bulk_load_files(graph: CoraGraph) -> dict[str, str]:
    """``{file name: CSV text}`` for Neptune's ``/loader``: the vertex file and the edge file."""
    vertices = io.StringIO()
    writer = csv.writer(vertices, lineterminator="\n")
    writer.writerow(["~id", "~label", "subject:String(single)", "split:String(single)", "words:String(single)"])
    for paper in graph.papers:
        writer.writerow([paper.id, VERTEX_LABEL, paper.subject, paper.split, words_vector(paper.words)])
    edges = io.StringIO()
    writer = csv.writer(edges, lineterminator="\n")
    writer.writerow(["~id", "~from", "~to", "~label"])
    for source, target in graph.citations:
        writer.writerow([f"{EDGE_LABEL}:{source}:{target}", source, target, EDGE_LABEL])
    return {"paper-vertices.csv": vertices.getvalue(), "cites-edges.csv": edges.getvalue()}
