"""Deploy: whole models as end-to-end ONNX files (``end2end.onnx``) with the
``deploy.json`` that tells a runtime everything else (:mod:`.meta`); the
runtime itself is the separate package :mod:`mmplug_runtime`."""
