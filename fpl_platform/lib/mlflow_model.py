"""The MLflow pyfunc wrapper for our models (imports mlflow: load only where MLflow is needed)."""

from __future__ import annotations

import pickle

import mlflow.pyfunc


class PickledModel(mlflow.pyfunc.PythonModel):
    """Wraps a pickled model object; `predict` returns its probabilities or point predictions."""

    def load_context(self, context) -> None:
        with open(context.artifacts["model"], "rb") as handle:
            self.model = pickle.load(handle)

    def predict(self, context, model_input, params=None):
        if hasattr(self.model, "predict_proba"):
            return self.model.predict_proba(model_input)
        return self.model.predict(model_input)
