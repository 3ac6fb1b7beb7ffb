"""Published figures the chapters set beside their own measurements, each with its source.

Numbers here are typed from papers, never computed; every chapter that uses one cites
the paper in its text. Keeping them in one place keeps them said once.
"""

# PLAID, Table 1: MS MARCO v1 has 8,841,823 passages and 597.9M token vectors.
MSMARCO_PASSAGES = 8_841_823
MSMARCO_TOKENS = 597_900_000

# PLAID, Table 3: ms per query at k=10 on CPU, query encoding excluded.
PLAID_MS = {"PLAID, 1 thread": 185.5, "PLAID, 8 threads": 31.5}

# xtr-warp-rs's README (github.com/pau-mensa/xtr-warp-rs, version 2.1), CPU table: queries
# per second on SciFact (5,183 documents), one thread, on an AMD Ryzen 9950; fast-plaid's
# CPU figure beside it. nDCG@10 0.73 (xtr-warp-rs) and 0.74 (fast-plaid) on SciFact.
SCIFACT_ENGINES_QPS = {"xtr-warp-rs (WARP), 1 thread": 414.32, "fast-plaid (PLAID)": 11.27}
SCIFACT_DOCS = 5_183

# WARP (Scheerer et al., SIGIR 2025; the abstract of arXiv 2501.17788v1): 171 ms per query
# end to end on one thread, on LoTTE pooled, where XTR's reference implementation takes
# over 6 s. LoTTE pooled (dev) has 2,428,854 passages.
WARP_LOTTE_POOLED_MS = 171
LOTTE_POOLED_PASSAGES = 2_428_854

# ColBERT, Table 4: its end-to-end MS MARCO index, 128 dims at 2 bytes, is 154 GiB.
# ColBERTv2, section 5.3: 25 GiB at 2 bits and 16 GiB at 1 bit per dimension, each
# including 4.5 GiB of inverted lists.
MSMARCO_INDEX_GIB = {
    "fp16": ("ColBERT", 154),
    "residual 2-bit": ("ColBERTv2", 25),
    "residual 1-bit": ("ColBERTv2", 16),
}
COLBERT_RERANK_INDEX_GIB = 143  # ColBERT, Table 4: the re-ranking setting, without the faiss index
COLBERTV2_INVERTED_LISTS_GIB = 4.5
COLBERTV2_BYTES_PER_2BIT_VECTOR = 36  # 32 bytes of codes and a 4-byte centroid id
# ColBERTv2, section 5.3 (MS MARCO dev): no MRR@10 loss at 2 bits, 0.7 points at 1 bit
COLBERTV2_1BIT_MRR_LOSS_POINTS = 0.7

# ColPali: a page image becomes 1,024 patches (a 32 x 32 grid) plus 6 prompt tokens,
# 1,030 vectors of 128 dimensions.
COLPALI_VECTORS_PER_PAGE = 1030
COLPALI_GRID = 32
COLPALI_DIM = 128

# Qdrant's blog on ColPali at scale (November 2024): mean (or max) pooling each row of
# the 32 x 32 grid keeps 32 + 6 = 38 vectors per page for a first stage; the full 1,030
# re-rank its candidates. Pooling columns is named there as a next step.
QDRANT_POOLED_VECTORS = 38

# DeepSeek-OCR: OCR precision against the compression ratio (text tokens per vision
# token): about 97% below 10x, about 60% at 20x.
DEEPSEEK_OCR_PRECISION = {10: 0.97, 20: 0.60}

# ColBERTv2, BEIR table: nDCG@10 0.693 on SciFact, zero-shot (trained on MS MARCO only,
# a fine-tuned BERT-base).
COLBERTV2_SCIFACT_NDCG = 0.693

# BEIR (Thakur et al. 2021), Table 2: BM25 (Elasticsearch) nDCG@10 0.665 on SciFact.
BEIR_BM25_SCIFACT_NDCG = 0.665
