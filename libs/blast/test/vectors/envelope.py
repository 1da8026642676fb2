#!/usr/bin/env python3
"""Known-answer vectors for the deterministic parts of a sealed envelope, using Python's `cryptography`.

Header v2: u8 version, u8 kind (1 metadata, 2 assignment, 3 sample), 16-byte subject UUID, source and
target as u8 length + UTF-8, u64 big-endian expiresAt (UTC ms).
Key schedule: HKDF-SHA-256(ikm = KEM shared secret, salt = the envelope's 16-byte random salt,
info = label || SHA-256(header)) -> 44 bytes:
the AES-256-GCM key, then the 12-byte nonce. AEAD: AES-256-GCM with the header as additional data.

Run from this folder: python3 envelope.py > envelope.json && npx prettier --write envelope.json
"""
import hashlib
import json
import struct
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b'DQKD sealed envelope v2: AES-256-GCM key and nonce'
KINDS = {'metadata': 1, 'assignment': 2, 'sample': 3}


def short_text(text):
    data = text.encode('utf-8')
    return struct.pack('>B', len(data)) + data


def encode_header(header):
    return (struct.pack('>BB', 2, KINDS[header['kind']]) + uuid.UUID(header['subjectId']).bytes
            + short_text(header['source']) + short_text(header['target']) + struct.pack('>Q', header['expiresAt']))


def vector(name, header, shared_secret, salt, plaintext):
    header_bytes = encode_header(header)
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=salt,
               info=LABEL + hashlib.sha256(header_bytes).digest()).derive(shared_secret)
    key, nonce = okm[:32], okm[32:]
    return {
        'name': name,
        'header': header,
        'headerBytes': header_bytes.hex(),
        'sharedSecret': shared_secret.hex(),
        'salt': salt.hex(),
        'key': key.hex(),
        'nonce': nonce.hex(),
        'plaintext': plaintext.hex(),
        'sealed': AESGCM(key).encrypt(nonce, plaintext, header_bytes).hex(),
    }


print(json.dumps([
    vector('metadata east to west',
           {'kind': 'metadata', 'subjectId': '0f8e5c1a-3b2d-4e6f-8a9b-1c2d3e4f5a6b', 'source': 'kme-east',
            'target': 'kme-west', 'expiresAt': 1767225600000},
           bytes(range(32)), bytes(range(16, 32)), b'block metadata'),
    vector('assignment with an empty plaintext',
           {'kind': 'assignment', 'subjectId': 'ffffffff-0000-4000-8000-000000000001', 'source': 'kme-west',
            'target': 'kme-east', 'expiresAt': 0},
           bytes([0xa5] * 32), bytes(16), b''),
    vector('sample from an entropy server, non-ASCII target',
           {'kind': 'sample', 'subjectId': '12345678-9abc-4def-8123-456789abcdef', 'source': 'entropy-1',
            'target': 'kme-s\u00fcd', 'expiresAt': 2**53 - 1},
           hashlib.sha256(b'shared').digest(), hashlib.sha256(b'salt').digest()[:16], bytes(range(256)) * 3),
], indent=2))
