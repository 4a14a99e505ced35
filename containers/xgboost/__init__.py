"""The ``mlharbor/xgboost`` image: SageMaker's XGBoost algorithm (algorithm mode) and script mode."""
