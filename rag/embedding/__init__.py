"""The embedding room: text to unit vectors, offline, on the CPU.

`embedder.Embedder` is what the rest of newsrag holds; `encoders` runs the model on a backend chosen by
name (torch, ONNX, OpenVINO), from local exports made once by `model_export`. It uses only the shared
modules of `rag` (settings, errors, runtime).
"""
