"""Tests of Neptune ML: the neptunedata ML operations, export, processing, training, serving, Gremlin inference."""
