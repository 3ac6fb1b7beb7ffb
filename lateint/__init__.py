"""lateint: late-interaction retrieval (ColBERT, MaxSim), small enough to read.

Data flows one way: ``data`` (BEIR collections) -> ``encoder`` (one vector per token)
-> ``maxsim`` (exact scores) -> ``metrics`` (nDCG, recall, MRR). ``baselines`` holds
BM25 and pooled dense vectors over the same collections; ``compare`` runs them side
by side; ``plots`` draws the figures.
"""

from .data import Collection, DataError, load
from .encoder import Encoder, EncoderConfig, TokenVectors

__all__ = ["Collection", "DataError", "Encoder", "EncoderConfig", "TokenVectors", "load"]
__version__ = "0.1.0"
