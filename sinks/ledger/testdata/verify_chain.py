#!/usr/bin/env python3
"""Check a mocdc audit ledger without mocdc (docs/ledger.md).

Reads the ledger's records, one JSON record per line, on stdin, e.g.
  kcat -C -b BROKER -t mo.ledger -e -q -X isolation.level=read_committed -f '%s\n'
Checks every hash, the sequence and every prev_hash link. With a public
key file as argument (needs the 'cryptography' package) it also checks
every checkpoint signature.
"""
import hashlib, json, sys

pub = None
if len(sys.argv) > 1:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    with open(sys.argv[1], "rb") as f:
        pub = load_pem_public_key(f.read())

def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

seq, head, n = 0, "0" * 64, 0
for line in sys.stdin.buffer:
    raw = line.rstrip(b"\n")
    rec = json.loads(raw)
    stored = rec.pop("hash")
    if canonical(dict(rec, hash=stored)) != raw:
        sys.exit(f"after sequence {seq}: record not in canonical form")
    if hashlib.sha256(canonical(rec)).hexdigest() != stored:
        sys.exit(f"sequence {rec['sequence']}: altered (content does not match its hash)")
    if rec["sequence"] != seq + 1:
        sys.exit(f"sequence {seq + 1}: missing or reordered (found sequence {rec['sequence']})")
    if rec["prev_hash"] != head:
        sys.exit(f"sequence {rec['sequence']}: prev_hash does not match sequence {seq}")
    if rec["kind"] == "checkpoint" and pub is not None:
        if (rec["signed_sequence"], rec["signed_hash"]) != (seq, head):
            sys.exit(f"sequence {rec['sequence']}: checkpoint does not sign the record before it")
        msg = f"mocdc-ledger-checkpoint:v1:{seq}:{head}".encode("ascii")
        try:
            pub.verify(bytes.fromhex(rec["signature"]), msg)
        except Exception:
            sys.exit(f"sequence {rec['sequence']}: bad signature")
    seq, head, n = rec["sequence"], stored, n + 1
print(f"OK: {n} records, last sequence {seq}, head {head}")
