"""Fits the rational functions of the wasm kernels (assembly/transcendental.ts), each odd function f as

    f(x) / x = P(t) / Q(t),  t = x^2,  Q(0) = 1,  0 < x <= limit

by weighted least squares on Chebyshev nodes, reweighted by 1 / Q until the relative error settles (Loeb's
iteration). Past the limit each rounds to +-1 in float32. Needs mpmath (Debian: python3-mpmath). Prints each
fit's error and coefficients, highest first as the kernels' Horner steps take them:

    erf(x / sqrt 2)  P of degree 5, Q of degree 5, limit 5.6   (erfOfScaled4: Gelu, Erf)
    tanh(x)          P of degree 5, Q of degree 3, limit 9     (tanh4: Tanh, the recurrent cells)
"""
import mpmath as mp

mp.mp.dps = 60
NODES = 400


def fit(name, f, limit, p_terms, q_terms):
    limit = mp.mpf(limit)
    xs = [limit * (1 - mp.cos(mp.pi * (k + mp.mpf(0.5)) / NODES)) / 2 for k in range(NODES)]
    ts = [x * x for x in xs]
    gs = [f(x) / x for x in xs]
    weights = [mp.mpf(1)] * NODES
    for _ in range(12):
        # Unknowns p0.., q1..; each row is (P(t) - g Q(t)) / g, weighted: a relative error.
        rows, rhs = [], []
        for t, g, w in zip(ts, gs, weights):
            s = w / g
            rows.append([s * t**i for i in range(p_terms)] + [-s * g * t**j for j in range(1, q_terms + 1)])
            rhs.append(s * g)
        a, b = mp.matrix(rows), mp.matrix(rhs)
        solution = mp.lu_solve(a.T * a, a.T * b)
        p = [solution[i] for i in range(p_terms)]
        q = [mp.mpf(1)] + [solution[p_terms + j] for j in range(q_terms)]
        qs = [sum(q[j] * t**j for j in range(q_terms + 1)) for t in ts]
        weights = [1 / value for value in qs]
    error = max(abs(sum(p[i] * t**i for i in range(p_terms)) / qv / g - 1) for t, qv, g in zip(ts, qs, gs))
    print(name, 'relative error', mp.nstr(error, 3))
    print('  P', ', '.join(mp.nstr(c, 12) for c in reversed(p)))
    print('  Q', ', '.join(mp.nstr(c, 12) for c in reversed(q)))


fit('erf(x / sqrt 2)', lambda x: mp.erf(x / mp.sqrt(2)), '5.6', 6, 5)
fit('tanh(x)', mp.tanh, '9', 6, 3)
