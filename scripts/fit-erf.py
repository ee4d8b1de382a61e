"""Fits the rational erf of the wasm kernels (assembly/transcendental.ts, erfOfScaled4):

    erf(x / sqrt 2) / x = P(t) / Q(t),  t = x^2,  P of degree 5, Q of degree 5 with Q(0) = 1,  0 < x <= 5.6

by weighted least squares on Chebyshev nodes, reweighted by 1 / Q until the relative error settles (Loeb's
iteration). Needs mpmath (Debian: python3-mpmath). Prints the error and the coefficients, highest first as
the kernel's Horner steps take them.
"""
import mpmath as mp

mp.mp.dps = 60
LIMIT = mp.mpf('5.6')
NODES = 400
P_TERMS, Q_TERMS = 6, 5

xs = [LIMIT * (1 - mp.cos(mp.pi * (k + mp.mpf(0.5)) / NODES)) / 2 for k in range(NODES)]
ts = [x * x for x in xs]
gs = [mp.erf(x / mp.sqrt(2)) / x for x in xs]
weights = [mp.mpf(1)] * NODES
for _ in range(12):
    # Unknowns p0..p5, q1..q5; each row is (P(t) - g Q(t)) / g, weighted: a relative error.
    rows, rhs = [], []
    for t, g, w in zip(ts, gs, weights):
        s = w / g
        rows.append([s * t**i for i in range(P_TERMS)] + [-s * g * t**j for j in range(1, Q_TERMS + 1)])
        rhs.append(s * g)
    a, b = mp.matrix(rows), mp.matrix(rhs)
    solution = mp.lu_solve(a.T * a, a.T * b)
    p = [solution[i] for i in range(P_TERMS)]
    q = [mp.mpf(1)] + [solution[P_TERMS + j] for j in range(Q_TERMS)]
    qs = [sum(q[j] * t**j for j in range(Q_TERMS + 1)) for t in ts]
    weights = [1 / value for value in qs]
error = max(abs(sum(p[i] * t**i for i in range(P_TERMS)) / qv / g - 1) for t, qv, g in zip(ts, qs, gs))
print('relative error', mp.nstr(error, 3))
print('P', ', '.join(mp.nstr(c, 12) for c in reversed(p)))
print('Q', ', '.join(mp.nstr(c, 12) for c in reversed(q)))
