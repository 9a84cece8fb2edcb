"""zfec's encode and decode throughput over the same chunks docgrid-bench rs uses.

Peer of `docgrid-bench rs`: same file, same k and m, one core. Encode asks
only for the parity blocks (the cheapest request zfec offers); decode rebuilds
the k primary blocks from the last k blocks (the first m lost), as docgrid's
does. Prints one JSON object per figure.
"""
import json
import sys
import time

import zfec


def throughput(nbytes, seconds, f):
    f()
    start = time.perf_counter()
    rounds = 0
    while time.perf_counter() - start < seconds:
        f()
        rounds += 1
    return rounds * nbytes / (time.perf_counter() - start)


def main():
    path, k, m, chunk, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    data = open(path, "rb").read()
    n = k + m
    size = chunk // k
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    blocks = [[c[j * size:(j + 1) * size] for j in range(k)] for c in chunks]
    enc = zfec.Encoder(k, n)
    parity_nums = list(range(k, n))

    def encode():
        for b in blocks:
            enc.encode(b, parity_nums)

    encoded = [b + enc.encode(b, parity_nums) for b in blocks]
    dec = zfec.Decoder(k, n)
    keep = list(range(m, n))

    def decode():
        for e in encoded:
            dec.decode([e[i] for i in keep], keep)

    for name, f in (("zfec_encode", encode), ("zfec_decode", decode)):
        print(json.dumps({"bench": name, "k": k, "m": m, "chunk": chunk, "bytes_per_s": throughput(len(data), seconds, f)}))


if __name__ == "__main__":
    main()
