#!/usr/bin/env python3
"""Known-answer vectors for the BLAST extractor, computed bit by bit, independently of the TypeScript.

Bits are numbered most-significant first within each byte. With seed bits s[0 .. n+m-2] the Toeplitz
matrix is T[i][j] = s[i - j + n - 1] and the output is y = T.x over GF(2). A block is extracted by cutting
the combined sample into sub-blocks of n bits and hashing each with the same (m + 32) x n matrix: the
first m output bits of the sub-blocks, concatenated and cut to blockBits, are the block; the last 32
output bits of every sub-block, concatenated, are hashed with SHA-256 after the label "DQKD BLAST kcv v2",
and the first 32 bits of the digest are its check value (kcv).

Run from this folder: python3 toeplitz.py > toeplitz.json && npx prettier --write toeplitz.json
"""
import hashlib
import json


def stream(label, length):
    return hashlib.shake_256(label.encode()).digest(length)


def bits_of(data):
    return [(byte >> (7 - k)) & 1 for byte in data for k in range(8)]


def bytes_of(bits):
    return bytes(sum(bit << (7 - k) for k, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8))


def toeplitz(seed_bits, x_bits, n, m):
    y = []
    for i in range(m):
        acc = 0
        for j in range(n):
            acc ^= seed_bits[i - j + n - 1] & x_bits[j]
        y.append(acc)
    return y


def kernel_vector(name, n, m):
    seed = stream(name + '/seed', (n + m) // 8)
    x = stream(name + '/input', n // 8)
    y = toeplitz(bits_of(seed), bits_of(x), n, m)
    return {'name': name, 'inputBits': n, 'outputBits': m, 'seed': seed.hex(), 'input': x.hex(), 'output': bytes_of(y).hex()}


def extract_vector(name, block_bits, n, m):
    sub_blocks = -(-block_bits // m)
    seed = stream(name + '/seed', (n + m + 32) // 8)
    combined = stream(name + '/input', sub_blocks * n // 8)
    seed_bits, x_bits = bits_of(seed), bits_of(combined)
    block, checks = [], []
    for k in range(sub_blocks):
        y = toeplitz(seed_bits, x_bits[k * n : (k + 1) * n], n, m + 32)
        block += y[:m]
        checks += y[m:]
    kcv = hashlib.sha256(b'DQKD BLAST kcv v2' + bytes_of(checks)).digest()[:4]
    return {
        'name': name,
        'layout': {'blockBits': block_bits, 'subBlockInputBits': n, 'subBlockOutputBits': m},
        'seed': seed.hex(),
        'combined': combined.hex(),
        'block': bytes_of(block[:block_bits]).hex(),
        'kcv': kcv.hex(),
    }


def single_bits():
    """An input with only bit j set selects column j: the seed window starting at n-1-j."""
    n, m = 64, 32
    seed = stream('single/seed', (n + m) // 8)
    cases = []
    for j in (0, 1, 7, 8, 31, 32, 63):
        x = [0] * n
        x[j] = 1
        cases.append({'name': f'single bit {j}', 'inputBits': n, 'outputBits': m, 'seed': seed.hex(),
                      'input': bytes_of(x).hex(), 'output': bytes_of(toeplitz(bits_of(seed), x, n, m)).hex()})
    return cases


print(json.dumps({
    'kernel': single_bits() + [
        kernel_vector('small', 64, 32),
        kernel_vector('more outputs than inputs', 96, 160),
        kernel_vector('one sub-block', 1056, 896),
    ],
    'extract': [
        extract_vector('one sub-block at h=0.9', 256, 480, 256),
        extract_vector('last sub-block truncated', 1000, 640, 416),
        extract_vector('planned for 8192 bits at h=1', 8192, 2912, 2752),
    ],
}, indent=2))
