"""eebench: a benchmark suite for early-exit neural networks.

The policy layer (``eebench.policies``) and metrics need NumPy only; torch and transformers are imported
only by the stages that train or run models.
"""

__version__ = "0.1.0"
