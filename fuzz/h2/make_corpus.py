#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_h2_server: frame sequences sent after the client preface
(the target adds the preface and an empty SETTINGS itself). The first byte of each input also
picks the read chunk size, so the files start with a frame's first length byte as it comes.
Run from this directory: ./make_corpus.py"""

import os
import struct

DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINDOW, CONT = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def hint(value, prefix, high=0):
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([high | value])
    out = [high | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, indexing=False):
    name, value = name.encode(), value.encode()
    first = b"\x40" if indexing else b"\x00"
    return first + hint(len(name), 7) + name + hint(len(value), 7) + value


def block(fields, indexing=False):
    return b"".join(literal(n, v, indexing) for n, v in fields)


def request(path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", "fuzz"),
            (":path", path)] + list(extra)


CASES = {}
CASES["get_simple"] = frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/")))
hb = block(request("/cont", extra=[("x-a", "1" * 200), ("x-b", "2" * 200)]))
CASES["headers_continuation"] = (frame(HEADERS, END_STREAM, 1, hb[:50]) +
                                 frame(CONT, 0, 1, hb[50:300]) +
                                 frame(CONT, END_HEADERS, 1, hb[300:]))
CASES["post_data"] = (frame(HEADERS, END_HEADERS, 1, block(request("/up", "POST"))) +
                      frame(DATA, 0, 1, b"a" * 1000) + frame(DATA, END_STREAM, 1, b"b" * 10))
CASES["post_trailers"] = (frame(HEADERS, END_HEADERS, 1,
                                block(request("/up", "POST", [("te", "trailers")]))) +
                          frame(DATA, 0, 1, b"payload") +
                          frame(HEADERS, END_HEADERS | END_STREAM, 1,
                                block([("grpc-status", "0")])))
CASES["settings"] = (frame(SETTINGS, 0, 0, struct.pack(">HI", 1, 8192) +
                           struct.pack(">HI", 3, 10) + struct.pack(">HI", 4, 1 << 20) +
                           struct.pack(">HI", 5, 32768)) + frame(SETTINGS, ACK, 0) +
                     frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/big"))))
CASES["ping"] = frame(PING, 0, 0, b"12345678") + frame(PING, ACK, 0, b"87654321")
CASES["rst_stream"] = (frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/big"))) +
                       frame(RST, 0, 1, struct.pack(">I", 8)) +
                       frame(HEADERS, END_HEADERS | END_STREAM, 3, block(request("/"))))
CASES["goaway"] = (frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/"))) +
                   frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0) + b"bye"))
CASES["window_update"] = (frame(WINDOW, 0, 0, struct.pack(">I", 1 << 20)) +
                          frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/big"))) +
                          frame(WINDOW, 0, 1, struct.pack(">I", 1 << 20)))
CASES["priority"] = (frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 15)) +
                     frame(HEADERS, END_HEADERS | END_STREAM | PRIO, 5,
                           struct.pack(">IB", 3, 200) + block(request("/"))))
CASES["padded"] = (frame(HEADERS, END_HEADERS | PADDED, 1,
                         b"\x04" + block(request("/p", "POST")) + b"\0" * 4) +
                   frame(DATA, END_STREAM | PADDED, 1, b"\x03abc\0\0\0"))
CASES["hpack_dynamic_table"] = (
    frame(HEADERS, END_HEADERS | END_STREAM, 1, block(request("/t", extra=[("x-k", "v")]), True)) +
    frame(HEADERS, END_HEADERS | END_STREAM, 3, bytes([0x82, 0x86, 0xC0, 0xBF, 0xBE])))
CASES["malformed_uppercase"] = frame(HEADERS, END_HEADERS | END_STREAM, 1,
                                     block(request("/", extra=[("X-Upper", "1")])))
CASES["many_streams"] = b"".join(
    frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block(request("/s%d" % i)))
    for i in range(20))
CASES["continuation_flood"] = (frame(HEADERS, 0, 1, block(request("/"))) +
                               b"".join(frame(CONT, 0, 1) for _ in range(40)))
CASES["ping_flood"] = b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(300))
CASES["rapid_reset"] = b"".join(
    frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block(request("/"))) +
    frame(RST, 0, 2 * i + 1, struct.pack(">I", 8)) for i in range(120))
CASES["content_length_mismatch"] = (
    frame(HEADERS, END_HEADERS, 1, block(request("/", "POST", [("content-length", "9")]))) +
    frame(DATA, END_STREAM, 1, b"abc"))

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for name, data in sorted(CASES.items()):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print("wrote %d files to %s" % (len(CASES), here))
