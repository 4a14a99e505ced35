"""The SageMaker API: routes, wire responses, and the state and backends of training, processing, endpoints, tags."""
