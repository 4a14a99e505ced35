"""The demo's ETL as an AWS Glue job (``glueetl``): raw node/edge CSV in S3 -> Neptune bulk-load CSV + GNN files.

A Glue script in the usual shape (``getResolvedOptions``, ``GlueContext``, ``Job.init``/``commit``,
``create_dynamic_frame.from_options``, ``ApplyMapping``, ``write_dynamic_frame.from_options``), plus
PySpark for the checks; nothing in it is mlharbor's, so it runs on AWS Glue as it runs here. It writes
what the ``mlharbor/graph-etl`` processing image writes, with the same rules for bad rows:

* ``<graph_path>vertices/`` and ``<graph_path>edges/``: Gremlin load-data CSV (``~id,~label,label:Int,
  split:String`` and ``~id,~from,~to,~label``), for Neptune's ``/loader`` on ``<graph_path>``;
* ``<features_path>`` ``features.csv`` (sparse ``node_id,index,value``), ``labels.csv`` (class index, -1
  for none), ``splits.csv``, ``meta.json``: one object each, in the raw table's node order, what a
  ``mlharbor/gnn`` training channel reads;
* ``<report_path>report.json``: the counts and every bad row with its file and line.

Arguments: ``--raw_path`` (a folder holding ``nodes.csv`` with ``node_id,label,split,features`` and
``edges.csv`` with ``source,target``), ``--graph_path``, ``--features_path``, ``--report_path`` (folders,
ending in ``/``), ``--vertex_label``, ``--edge_label``, ``--max_bad_rows`` (more bad rows fail the run,
listing the first ones), ``--num_features`` (``0``: the largest feature index + 1).
"""

import json
import sys

import boto3
from awsglue.context import GlueContext
from awsglue.dynamicframe import DynamicFrame
from awsglue.job import Job
from awsglue.transforms import ApplyMapping
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import Window
from pyspark.sql import functions as F  # noqa: N812 (PySpark's own convention)
from pyspark.sql.types import LongType, StructField, StructType

ARGUMENTS = ["JOB_NAME", "raw_path", "graph_path", "features_path", "report_path", "vertex_label", "edge_label",
             "max_bad_rows", "num_features"]
#: Values of the split column meaning the same standard split (as the graph-etl image reads them).
SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
    "": "none", "none": "none", "unlabeled": "none", "unused": "none",
}
NODE_COLUMNS = ["node_id", "label", "split", "features"]
EDGE_COLUMNS = ["source", "target"]
#: How many bad rows a failed run's ErrorMessage lists (all of them are in report.json).
MESSAGE_ROWS = 5


def split_uri(uri):
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def read_table(glue_context, path, columns, name):
    """A raw CSV table as strings, each row with its physical line number (the header is line 1)."""
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3", connection_options={"paths": [path]}, format="csv",
        format_options={"withHeader": True}, transformation_ctx=name)
    missing = [column for column in columns if column not in frame.toDF().columns]
    if missing:
        raise ValueError(f"{path}: header has no column {', '.join(missing)} (columns: {frame.toDF().columns})")
    typed = ApplyMapping.apply(frame=frame, mappings=[(c, "string", c, "string") for c in columns],
                               transformation_ctx=f"{name}_typed")
    df = typed.toDF()
    # zipWithIndex numbers rows in file order across partitions: the line numbers of bad rows
    numbered = df.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 2))
    # cached: every later step reads it, and recomputing means parsing the CSV and a Python pass again
    return numbered.toDF(StructType([*df.schema.fields, StructField("line", LongType())])).cache()


def node_problems(nodes, num_features):
    """Each node row with ``split`` normalised, its feature ``indices`` and why it is unusable (``problem``)."""
    # Spark reads an empty cell as null: here both mean "empty", as in the raw CSV
    nodes = nodes.select(*[F.coalesce(F.col(c), F.lit("")).alias(c) for c in NODE_COLUMNS], "line")
    aliases = F.create_map(*[F.lit(x) for pair in SPLIT_ALIASES.items() for x in pair])
    tokens = F.filter(F.split(F.col("features"), " "), lambda t: F.trim(t) != "")
    bad_token = F.exists(tokens, lambda t: ~F.trim(t).rlike(r"^-?[0-9]+$"))
    indices = F.array_sort(F.array_distinct(F.transform(tokens, lambda t: F.trim(t).cast("int"))))
    out_of_range = F.exists(F.col("indices"), lambda i: (i < 0) | (F.lit(num_features > 0) & (i >= num_features)))
    split = F.element_at(aliases, F.lower(F.trim(F.col("split"))))
    problem = (
        F.when(F.trim(F.col("node_id")) == "", F.lit("empty node_id"))
        .when(F.col("split_name").isNull(),
              F.format_string("unknown split '%s' (use train, val, test or none)", F.col("split")))
        .when((F.col("split_name") != "none") & (F.trim(F.col("label")) == ""),
              F.format_string("empty label for a %s node", F.col("split_name")))
        .when(F.col("bad_token"), F.lit("features: not a list of integer indices"))
        .when(F.col("out_of_range"), F.lit("features: feature index outside 0..num_features-1"))
    )
    return (nodes.withColumn("split_name", split).withColumn("bad_token", bad_token)
            .withColumn("indices", F.when(F.col("bad_token"), F.array()).otherwise(indices))
            .withColumn("out_of_range", out_of_range).withColumn("problem", problem)
            .withColumn("node_id", F.trim("node_id")).withColumn("label", F.trim("label")))


def without_duplicates(nodes):
    """Usable rows keep the first of each node id; later ones become bad rows naming the first line."""
    first = F.min("line").over(Window.partitionBy("node_id"))
    duplicate = F.when(F.col("problem").isNull() & (F.col("line") != F.col("first_line")),
                       F.format_string("duplicate node_id '%s' (first at line %d)", F.col("node_id"),
                                       F.col("first_line")))
    usable = nodes.filter(F.col("problem").isNull()).withColumn("first_line", first)
    rest = nodes.filter(F.col("problem").isNotNull()).withColumn("first_line", F.col("line"))
    return usable.unionByName(rest).withColumn("problem", F.coalesce("problem", duplicate))


def class_names(labels):
    """The classes in index order: integer labels keep their number (0..max), names sort."""
    present = sorted(set(filter(None, labels)))
    if present and all(label.isdigit() for label in present):
        return [str(index) for index in range(max(int(label) for label in present) + 1)]
    return present


def bad_row_records(file, df):
    return [{"file": file, "line": row["line"], "reason": row["problem"]}
            for row in df.filter(F.col("problem").isNotNull()).orderBy("line").select("line", "problem").collect()]


def write_single_csv(df, uri, s3):
    """``df`` as the one object ``uri`` (header first, row order kept): Spark writes a part file, renamed."""
    staging = uri + ".parts/"
    df.coalesce(1).write.mode("overwrite").option("header", "true").csv(staging)
    bucket, key = split_uri(uri)
    _, prefix = split_uri(staging)
    parts = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    data = [part for part in parts if part.rsplit("/", 1)[-1].startswith("part-")]
    if len(data) != 1:
        raise RuntimeError(f"expected one part file under {staging}, found {data}")
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": data[0]})
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": part} for part in parts]})


def put_json(s3, uri, document):
    bucket, key = split_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode())


def main():
    args = getResolvedOptions(sys.argv, ARGUMENTS)
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    # a graph's tables are small next to Spark's default of 200 shuffle partitions: fewer, cheaper tasks
    spark.conf.set("spark.sql.shuffle.partitions", str(max(2, spark.sparkContext.defaultParallelism)))
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    s3 = boto3.client("s3")
    num_features = int(args["num_features"])
    raw = args["raw_path"]

    nodes = without_duplicates(node_problems(read_table(glue_context, raw + "nodes.csv", NODE_COLUMNS, "nodes"),
                                             num_features)).cache()
    good = nodes.filter(F.col("problem").isNull()).select("line", "node_id", "label", "split_name", "indices").cache()
    raw_edges = read_table(glue_context, raw + "edges.csv", EDGE_COLUMNS, "edges")
    known = good.select(F.col("node_id").alias("known"))
    ends = raw_edges.select(*[F.trim(F.coalesce(F.col(c), F.lit(""))).alias(c) for c in EDGE_COLUMNS], "line")
    checked = (ends.join(known.withColumnRenamed("known", "s"), F.col("source") == F.col("s"), "left")
               .join(known.withColumnRenamed("known", "t"), F.col("target") == F.col("t"), "left"))
    edges = checked.withColumn("problem", F
        .when(F.col("s").isNull(), F.format_string("edge to unknown or rejected node '%s'", F.col("source")))
        .when(F.col("t").isNull(), F.format_string("edge to unknown or rejected node '%s'", F.col("target")))).cache()
    good_edges = edges.filter(F.col("problem").isNull()).select("line", "source", "target")

    bad_rows = bad_row_records("nodes.csv", nodes) + bad_row_records("edges.csv", edges)
    classes = class_names([row["label"] for row in good.select("label").distinct().collect()])
    if num_features <= 0:
        num_features = (good.select(F.max(F.array_max("indices"))).first()[0] or -1) + 1
    vertex_count, edge_count = good.count(), good_edges.count()
    put_json(s3, args["report_path"] + "report.json",
             {"vertices": vertex_count, "edges": edge_count, "bad_rows": bad_rows})
    summary = (f"cora_etl: {vertex_count} vertices, {edge_count} edges, {num_features} features, "
               f"{len(classes)} classes, {len(bad_rows)} bad rows")
    if len(bad_rows) > int(args["max_bad_rows"]):
        listed = "; ".join(f"{bad['file']}:{bad['line']}: {bad['reason']}" for bad in bad_rows[:MESSAGE_ROWS])
        raise ValueError(f"{len(bad_rows)} bad rows (max_bad_rows={args['max_bad_rows']}): {listed}")
    if vertex_count == 0:
        raise ValueError(f"no usable node rows in {raw}nodes.csv")

    integer_classes = bool(classes) and all(name.isdigit() for name in classes)
    class_index = F.create_map(*[F.lit(x) for i, name in enumerate(classes) for x in (name, i)])
    label_index = F.when(F.col("label") == "", F.lit(-1)).otherwise(F.element_at(class_index, F.col("label")))
    vertices = good.orderBy("line").select(
        F.col("node_id").alias("~id"), F.lit(args["vertex_label"]).alias("~label"),
        F.when(F.col("label") != "", F.col("label")).alias("label:Int" if integer_classes else "label:String"),
        F.col("split_name").alias("split:String"))
    # an edge's id is label:from:to (":n" for the n-th repeat of a pair), as the graph-etl image names it
    repeat = F.row_number().over(Window.partitionBy("source", "target").orderBy("line")) - 1
    edge_label = args["edge_label"]
    neptune_edges = good_edges.withColumn("repeat", repeat).orderBy("line").select(
        F.concat_ws(":", F.lit(edge_label), "source", "target",
                    F.when(F.col("repeat") > 0, F.col("repeat").cast("string"))).alias("~id"),
        F.col("source").alias("~from"), F.col("target").alias("~to"), F.lit(edge_label).alias("~label"))
    for name, frame in (("vertices", vertices), ("edges", neptune_edges)):
        glue_context.write_dynamic_frame.from_options(
            frame=DynamicFrame.fromDF(frame, glue_context, name), connection_type="s3",
            connection_options={"path": args["graph_path"] + name + "/"}, format="csv",
            format_options={"writeHeader": True}, transformation_ctx=f"write_{name}")

    ordered = good.orderBy("line")
    features = (ordered.select("line", "node_id", F.posexplode("indices").alias("position", "index"))
                .orderBy("line", "position").select("node_id", "index", F.lit(1.0).alias("value")))
    training_files = {
        "features.csv": features,
        "labels.csv": ordered.select("node_id", label_index.alias("label")),
        "splits.csv": ordered.select("node_id", F.col("split_name").alias("split")),
    }
    for name, frame in training_files.items():
        write_single_csv(frame, args["features_path"] + name, s3)
    put_json(s3, args["features_path"] + "meta.json", {
        "num_nodes": vertex_count, "num_edges": edge_count, "num_features": num_features, "classes": classes,
        "vertex_label": args["vertex_label"], "edge_label": edge_label, "features_format": "indices"})
    print(summary, flush=True)
    spark.catalog.clearCache()
    job.commit()


if __name__ == "__main__":
    main()
