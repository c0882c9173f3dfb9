"""k-reciprocal Jaccard distance (Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017) as SpCL uses it for pseudo labels (Ge et al., NeurIPS 2020,
``compute_jaccard_distance`` in ``spcl/utils/faiss_rerank.py``), in memory that grows with N·k.

The steps, for L2-normalised features x (d(i, j) = ‖x_i − x_j‖² = 2 − 2·x_i·x_j):

1. N(i, k): the k nearest neighbours of i, i itself first (an exact faiss search). Like SpCL,
   the search returns k1 columns, so N(i, k1) holds k1 samples counting i, and the half set
   N(i, k1/2) holds ``round(k1/2) + 1`` (NumPy's round-half-to-even; 16 for k1 = 30).
2. R(i, k) = {j ∈ N(i, k) : i ∈ N(j, k)}, the k-reciprocal set.
3. Expansion: R*(i) = R(i, k1) ∪ R(c, k1/2) for every c ∈ R(i, k1) whose half set overlaps
   R(i, k1) in more than 2/3 of its members.
4. V[i, j] = exp(−d(i, j)) / Σ_{j' ∈ R*(i)} exp(−d(i, j')) for j ∈ R*(i) (rows sum to 1).
5. Local query expansion: V[i] ← mean of V[j] over the k2 nearest neighbours j of i (i first).
6. Jaccard distance J(i, j) = 1 − Σ_c min(V_ic, V_jc) / Σ_c max(V_ic, V_jc), clipped at 0.

Only pairs whose rows of V share a non-zero have J < 1. :func:`jaccard_distance` computes
exactly those (blockwise, through the inverted index of V) and returns them as a sparse
matrix; a pair it does not store is at distance 1. :func:`jaccard_distance_dense` is a plain
O(N²) implementation of the same definition, the reference the tests compare against.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from reidlab.errors import ConfigError

# SpCL's published defaults (examples/spcl_train_usl.py: --k1 30, --k2 6).
DEFAULT_K1 = 30
DEFAULT_K2 = 6
# Upper bound of the (row, column, value) triples and of the accumulator cells that the
# blockwise Jaccard step holds at once; small enough for the CPU caches (see bench_cluster.py).
DEFAULT_BLOCK = 250_000


# ----------------------------------------------------------------------------- input checks

def _normalised(feat: np.ndarray, name: str = "feat") -> np.ndarray:
    """C-contiguous float32 copy of ``feat`` with unit rows (zero rows stay zero)."""
    x = np.asarray(feat)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(f"{name}: expected a non-empty 2-D feature matrix (samples × dims), "
                          f"found shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ConfigError(f"{name}: expected real numbers, found dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x).all(axis=1)).sum())
        raise ConfigError(f"{name}: expected finite features, found NaN/inf in {bad} row(s)")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, 1e-12), dtype=np.float32)


def _check_k(k1: int, k2: int) -> None:
    for name, v in (("k1", k1), ("k2", k2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"jaccard distance {name}={v!r}: expected an integer >= 1")


def _sizes(n: int, k1: int, k2: int) -> tuple[int, int, int]:
    """(k, k_half, k_qe): neighbour counts (self included) clamped to n samples."""
    k = min(int(k1), n)
    kh = min(int(np.around(k1 / 2)) + 1, k)
    return k, kh, min(int(k2), k)


# ----------------------------------------------------------------------------- kNN

def knn(feat: np.ndarray, k: int, use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours by cosine similarity (faiss ``IndexFlatIP`` on L2-normalised
    float32 features; on the GPU when faiss sees one and ``use_gpu`` is not False).

    Returns ``(sim, idx)``, both n × min(k, n), rows sorted by decreasing similarity, ``idx``
    int64. Sample i is always ``idx[i, 0]``: ties with duplicates are broken in its favour.
    """
    x = _normalised(feat)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"knn k={k!r}: expected an integer >= 1")
    return _knn(x, int(k), use_gpu)


def _knn(x: np.ndarray, k: int, use_gpu: bool | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`knn` of already normalised float32 rows."""
    import faiss

    n, dim = x.shape
    k = min(int(k), n)
    ngpu = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if use_gpu and ngpu == 0:
        raise ConfigError("knn use_gpu=True: expected a GPU build of faiss that sees a GPU, "
                          "found none (use_gpu=None picks the GPU only when there is one)")
    index = faiss.IndexFlatIP(dim)
    if ngpu > 0 and use_gpu is not False:
        res = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(res, 0, index)
    index.add(x)
    sim, idx = index.search(x, k)
    sim = np.ascontiguousarray(sim, dtype=np.float32)
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    # Self first: only rows where a duplicate (or a rounding tie) came before i need work.
    for i in np.flatnonzero(idx[:, 0] != np.arange(n)):
        where = np.flatnonzero(idx[i] == i)
        if where.size:
            p = int(where[0])
            s_self = sim[i, p]
            idx[i, 1:p + 1] = idx[i, :p].copy()
            sim[i, 1:p + 1] = sim[i, :p].copy()
        else:  # more exact duplicates than k: i was left out
            s_self = float(x[i] @ x[i])
            idx[i, 1:] = idx[i, :-1].copy()
            sim[i, 1:] = sim[i, :-1].copy()
        idx[i, 0] = i
        sim[i, 0] = max(float(s_self), float(sim[i, 1]) if k > 1 else float(s_self))
    return sim, idx


# ----------------------------------------------------------------------------- sparse

def _neighbour_matrix(idx: np.ndarray, k: int, n: int) -> sp.csr_matrix:
    """Binary n × n CSR matrix with ones at (i, idx[i, :k])."""
    cols = idx[:, :k].astype(np.int32).ravel()
    indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
    m = sp.csr_matrix((np.ones(n * k, np.float32), cols, indptr), shape=(n, n))
    m.sort_indices()
    return m


def _reciprocal(a: sp.csr_matrix) -> sp.csr_matrix:
    """R[i, j] = 1 iff j ∈ N(i) and i ∈ N(j)."""
    r = a.multiply(a.T).tocsr()
    r.eliminate_zeros()
    r.sort_indices()
    return r


def _pair_dots(x: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               chunk: int = 1 << 15) -> np.ndarray:
    """x[rows[t]] · x[cols[t]] for every t, in chunks (float64 result)."""
    out = np.empty(rows.size, np.float64)
    step = max(1, min(chunk, (1 << 26) // max(1, x.shape[1])))
    for a in range(0, rows.size, step):
        r, c = rows[a:a + step], cols[a:a + step]
        out[a:a + step] = np.einsum("ij,ij->i", x[r], x[c], dtype=np.float64)
    return out


def _expanded_dots(x: np.ndarray, sim: np.ndarray, idx: np.ndarray,
                   expanded: sp.csr_matrix) -> np.ndarray:
    """x_i · x_j for every stored (i, j) of ``expanded`` (sorted CSR): read from the kNN
    similarities where j is among i's neighbours (nearly always), computed otherwise."""
    n, k = idx.shape
    erow = np.repeat(np.arange(n, dtype=np.int64), np.diff(expanded.indptr))
    want = erow * n + expanded.indices
    order = np.argsort(idx, axis=1, kind="stable")
    have = (np.arange(n, dtype=np.int64)[:, None] * n
            + np.take_along_axis(idx, order, axis=1)).ravel()
    have_sim = np.take_along_axis(sim, order, axis=1).ravel().astype(np.float64)
    at = np.minimum(np.searchsorted(have, want), have.size - 1)
    found = have[at] == want
    dots = np.where(found, have_sim[at], 0.0)
    miss = np.flatnonzero(~found)
    if miss.size:
        dots[miss] = _pair_dots(x, erow[miss], expanded.indices[miss])
    return dots


def _encoding(x: np.ndarray, sim: np.ndarray, idx: np.ndarray, k: int, kh: int,
              kq: int) -> sp.csr_matrix:
    """Steps 2–5: the k-reciprocal encoding V after local query expansion (rows sum to 1)."""
    n = x.shape[0]
    r1 = _reciprocal(_neighbour_matrix(idx, k, n))
    rh = _reciprocal(_neighbour_matrix(idx, kh, n)) if kh != k else r1
    # overlap[i, c] = |R(c, kh) ∩ R(i, k)|, needed for the candidates c ∈ R(i, k)
    overlap = (r1 @ rh.T).multiply(r1).tocsr()
    overlap.eliminate_zeros()
    rows = np.repeat(np.arange(n), np.diff(overlap.indptr))
    half_len = np.diff(rh.indptr)[overlap.indices]
    keep = 3 * np.rint(overlap.data).astype(np.int64) > 2 * half_len  # |∩| > 2/3 |R(c, kh)|
    chosen = sp.csr_matrix((np.ones(int(keep.sum()), np.float32),
                            (rows[keep], overlap.indices[keep])), shape=(n, n))
    expanded = (r1 + chosen @ rh).tocsr()
    expanded.sort_indices()
    # Gaussian-kernel weights exp(−d) on d = 2 − 2·x_i·x_j, normalised per row
    erow = np.repeat(np.arange(n), np.diff(expanded.indptr))
    w = np.exp(2.0 * _expanded_dots(x, sim[:, :k], idx[:, :k], expanded) - 2.0)
    w /= np.add.reduceat(w, expanded.indptr[:-1])[erow]
    v = sp.csr_matrix((w, expanded.indices, expanded.indptr), shape=(n, n))
    if kq > 1:  # local query expansion over the kq nearest neighbours (self included)
        q = _neighbour_matrix(idx, kq, n).astype(np.float64) / kq
        v = (q @ v).tocsr()
    v.sort_indices()
    return v


def _symmetric(upper: sp.csr_matrix) -> sp.csr_matrix:
    """Full symmetric CSR matrix from its upper triangle (diagonal included), explicit zeros
    kept: row r of the result is row r of the mirrored strict upper part, then row r of
    ``upper`` (so columns stay sorted)."""
    n = upper.shape[0]
    urow = np.repeat(np.arange(n), np.diff(upper.indptr))
    off = upper.indices != urow
    lower = sp.csr_matrix((upper.data[off], (upper.indices[off], urow[off])), shape=(n, n))
    lower.sort_indices()
    lcount, ucount = np.diff(lower.indptr), np.diff(upper.indptr)
    indptr = np.concatenate(([0], np.cumsum(lcount + ucount)))
    total = int(indptr[-1])
    indices = np.empty(total, np.int32)
    data = np.empty(total, upper.data.dtype)
    dest_l = np.arange(lower.nnz) + np.repeat(indptr[:-1] - lower.indptr[:-1], lcount)
    dest_u = np.arange(upper.nnz) + np.repeat(indptr[:-1] + lcount - upper.indptr[:-1], ucount)
    indices[dest_l], data[dest_l] = lower.indices, lower.data
    indices[dest_u], data[dest_u] = upper.indices, upper.data
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def _jaccard_from_encoding(v: sp.csr_matrix, block: int,
                           max_distance: float = 1.0) -> sp.csr_matrix:
    """Step 6, only for pairs that share a non-zero of V, each pair once (j >= i).

    For a block of rows, every stored V[i, c] meets the stored V[j, c], j >= i, of its column
    (the inverted index: V in CSC form); min(V_ic, V_jc) is summed per pair into a dense
    block-rows × columns accumulator and J = 1 − m / (s_i + s_j − m), s the row sums (Σ max =
    s_i + s_j − Σ min). A block holds at most about ``block`` triples and ``block`` accumulator
    cells. Pairs with J > ``max_distance`` are dropped before the matrix is mirrored."""
    n = v.shape[0]
    vc = v.tocsc()
    vc.sort_indices()
    col_end = vc.indptr[1:]
    # where every CSR entry of V sits in the CSC arrays (ids + 1: no id is a zero)
    ids = sp.csr_matrix((np.arange(1, v.nnz + 1, dtype=np.int64), v.indices, v.indptr),
                        shape=v.shape).tocsc()
    ids.sort_indices()
    at = np.empty(v.nnz, np.int64)
    at[ids.data - 1] = np.arange(v.nnz)
    del ids
    cnt_all = col_end[v.indices] - at  # entries j >= i in the column of entry (i, c)
    s = np.asarray(v.sum(axis=1)).ravel()
    cum = np.concatenate(([0], np.cumsum(cnt_all)))
    row_cost = (cum[v.indptr[1:]] - cum[v.indptr[:-1]]).tolist()
    bounds = [0]
    acc = 0
    for i, c in enumerate(row_cost):
        a = bounds[-1]
        if i > a and (acc + c > block or (i - a + 1) * (n - a) > block):
            bounds.append(i)
            acc = 0
        acc += c
    bounds.append(n)
    rows_out, cols_out, data_out = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lo, hi = v.indptr[a], v.indptr[b]
        width = n - a
        cnt = cnt_all[lo:hi]
        ends = np.cumsum(cnt)
        # CSC positions of every triple: the entry's own position, then the rest of its column
        pos = np.arange(ends[-1], dtype=np.int64)
        pos += np.repeat(at[lo:hi] - (ends - cnt), cnt)
        key = np.repeat(np.repeat(np.arange(b - a, dtype=np.int64) * width,
                                  np.diff(v.indptr[a:b + 1])), cnt)
        key += vc.indices[pos]
        key -= a
        mins = np.minimum(np.repeat(v.data[lo:hi], cnt), vc.data[pos])
        del pos
        m = np.bincount(key, weights=mins, minlength=(b - a) * width)
        del key, mins
        flat = np.flatnonzero(m)
        m = m[flat]
        brow, bcol = np.divmod(flat, width)
        brow += a
        bcol += a
        dist = 1.0 - m / (s[brow] + s[bcol] - m)
        np.maximum(dist, 0.0, out=dist)
        dist[brow == bcol] = 0.0  # exactly 0 on the diagonal
        keep = dist <= max_distance
        if not keep.all():
            brow, bcol, dist = brow[keep], bcol[keep], dist[keep]
        rows_out.append(brow)
        cols_out.append(bcol.astype(np.int32))
        data_out.append(dist)
    brow = np.concatenate(rows_out)
    indptr = np.searchsorted(brow, np.arange(n + 1))
    upper = sp.csr_matrix((np.concatenate(data_out), np.concatenate(cols_out), indptr),
                          shape=(n, n))
    return _symmetric(upper)


def jaccard_distance(feat: np.ndarray, k1: int = DEFAULT_K1, k2: int = DEFAULT_K2,
                     block: int = DEFAULT_BLOCK, max_distance: float = 1.0,
                     use_gpu: bool | None = None, times: dict | None = None) -> sp.csr_matrix:
    """Sparse k-reciprocal Jaccard distance of the rows of ``feat`` (n × d).

    Defaults k1 = 30, k2 = 6 are SpCL's (``examples/spcl_train_usl.py``). k1 and k2 larger
    than n are clamped. Returns an n × n CSR matrix whose stored entries are the distances of
    the pairs whose encodings overlap (explicit zeros included, e.g. the whole diagonal); a pair
    that is not stored is at distance 1. ``max_distance`` < 1 also leaves out the pairs farther
    than it (DBSCAN with eps <= max_distance gives the same clusters; the matrix gets much
    smaller, since most overlapping pairs share little). ``block`` bounds the (row, column,
    value) triples and the accumulator cells held at once (memory ≈ 50 bytes × block).
    ``times``, when given, receives the seconds spent in ``"knn"`` and ``"jaccard"``
    (encoding + distances).
    """
    _check_k(k1, k2)
    if block < 1:
        raise ConfigError(f"jaccard distance block={block}: expected >= 1")
    if not 0.0 <= max_distance <= 1.0:
        raise ConfigError(f"jaccard distance max_distance={max_distance}: expected 0..1")
    t0 = time.perf_counter()
    x = _normalised(feat)
    n = x.shape[0]
    k, kh, kq = _sizes(n, k1, k2)
    sim, idx = _knn(x, k, use_gpu)
    t1 = time.perf_counter()
    dist = _jaccard_of_lists(x, sim, idx, k1, k2, block, max_distance)
    if times is not None:
        times["knn"] = t1 - t0
        times["jaccard"] = time.perf_counter() - t1
    return dist


def jaccard_distance_from_knn(feat: np.ndarray, sim: np.ndarray, idx: np.ndarray,
                              k1: int = DEFAULT_K1, k2: int = DEFAULT_K2,
                              block: int = DEFAULT_BLOCK,
                              max_distance: float = 1.0) -> sp.csr_matrix:
    """:func:`jaccard_distance` on given neighbour lists instead of the plain kNN: ``idx``
    (n × k, int) lists each sample's candidates, the sample itself first and the rest by
    decreasing similarity ``sim`` (n × k, the cosine similarities of the unit rows of
    ``feat``), k >= min(k1, n). N(i, k1) is the first k1 entries of row i, the half set and
    the query expansion the first ``round(k1/2) + 1`` and k2 — so camera-aware lists
    (``reidlab.cluster.debias``) change who may be a neighbour, nothing else. With the lists
    of :func:`knn` this is exactly :func:`jaccard_distance`."""
    _check_k(k1, k2)
    if not 0.0 <= max_distance <= 1.0:
        raise ConfigError(f"jaccard distance max_distance={max_distance}: expected 0..1")
    x = _normalised(feat)
    n = x.shape[0]
    sim = np.ascontiguousarray(sim, dtype=np.float32)
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    k = min(int(k1), n)
    if sim.shape != idx.shape or idx.ndim != 2 or idx.shape[0] != n or idx.shape[1] < k:
        raise ConfigError(f"jaccard neighbour lists: expected {n} × >= {k} sim and idx, found "
                          f"{sim.shape} and {idx.shape}")
    if (idx[:, 0] != np.arange(n)).any() or idx.min() < 0 or idx.max() >= n:
        raise ConfigError("jaccard neighbour lists: expected each row to start with the sample "
                          "itself and to hold sample indices only")
    return _jaccard_of_lists(x, sim, idx, k1, k2, int(block), float(max_distance))


def _jaccard_of_lists(x: np.ndarray, sim: np.ndarray, idx: np.ndarray, k1: int, k2: int,
                      block: int, max_distance: float) -> sp.csr_matrix:
    """Steps 2–6 on normalised rows ``x`` and their neighbour lists (self first)."""
    n = x.shape[0]
    k, kh, kq = _sizes(n, k1, k2)
    v = _encoding(x, sim, idx, k, kh, kq)
    del sim, idx
    return _jaccard_from_encoding(v, int(block), float(max_distance))


# ----------------------------------------------------------------------------- dense reference

def jaccard_distance_dense(feat: np.ndarray, k1: int = DEFAULT_K1,
                           k2: int = DEFAULT_K2) -> np.ndarray:
    """Reference O(N²) implementation of the same definition (dense n × n float64 array,
    1 where encodings do not overlap). Meant for tests and small n only."""
    _check_k(k1, k2)
    x = np.asarray(_normalised(feat), dtype=np.float64)
    n = x.shape[0]
    k, kh, kq = _sizes(n, k1, k2)
    d = np.maximum(2.0 - 2.0 * (x @ x.T), 0.0)
    # rank lists with i first, then the others by increasing distance
    ranks = []
    for i in range(n):
        others = [j for j in np.argsort(d[i], kind="stable") if j != i]
        ranks.append([i] + others)

    def reciprocal(i: int, kk: int) -> set[int]:
        return {j for j in ranks[i][:kk] if i in ranks[j][:kk]}

    r_full = [reciprocal(i, k) for i in range(n)]
    r_half = [reciprocal(i, kh) for i in range(n)]
    v = np.zeros((n, n))
    for i in range(n):
        members = set(r_full[i])
        for c in r_full[i]:
            if len(r_half[c] & r_full[i]) > 2 / 3 * len(r_half[c]):
                members |= r_half[c]
        cols = sorted(members)
        w = np.exp(-d[i, cols])
        v[i, cols] = w / w.sum()
    vq = np.zeros_like(v)
    for i in range(n):
        vq[i] = v[ranks[i][:kq]].mean(axis=0)
    jd = np.ones((n, n))
    for i in range(n):
        mins = np.minimum(vq[i], vq).sum(axis=1)
        maxs = np.maximum(vq[i], vq).sum(axis=1)
        jd[i] = 1.0 - mins / maxs
    np.fill_diagonal(jd, 0.0)
    return np.maximum(jd, 0.0)
