#!/usr/bin/env python3
"""Cross-checks Sluice's wire format against Python protobuf (upb), an implementation
nobody here wrote.

  crosscheck.py generate --seed S --count N --out CASES
      Writes N random messages of the all-types schemas (proto3 and proto2), each encoded
      deterministically by Python protobuf, some with unknown fields appended.
  crosscheck.py verify --cases CASES --results RESULTS
      Reads what Sluice re-encoded from each case, parses it with Python protobuf and checks
      it equals the original message.

Record format, both files: kind byte (0 = proto3 TestAllTypes, 1 = proto2; bit 0x80 set when
no map holds more than one entry), then a varint length and that many bytes.

Byte identity is only defined without multi-entry maps: C++ sorts map entries by key for
deterministic output, while upb (Python) writes them in an order of its own ("ab", "a", "b"). The Swift test in Tests/SluiceProtoTests/CrossImplementationTests
drives both steps.
"""
import argparse
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROTOS = ["sluice/test/all_types_proto3.proto", "sluice/test/all_types_proto2.proto"]
TYPES = ["sluice.test.TestAllTypes", "sluice.test.proto2.TestAllTypesProto2"]
INCLUDE = os.environ.get("PROTOBUF_INCLUDE", "/usr/include")


def load_classes():
    """Message classes built at run time from protoc's descriptor set, so no generated
    Python code (and no protoc/runtime version pairing) is involved."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run(
            ["protoc", f"--descriptor_set_out={out}", "--include_imports",
             "-I", os.path.join(ROOT, "Protos"), "-I", INCLUDE] + PROTOS,
            check=True)
        fds = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return [message_factory.GetMessageClass(pool.FindMessageTypeByName(t)) for t in TYPES]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_records(path):
    data = open(path, "rb").read()
    i = 0
    records = []
    while i < len(data):
        kind = data[i]
        i += 1
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        records.append((kind, data[i:i + n]))
        i += n
    return records


class Randomizer:
    """Fills messages with random values of every field kind."""

    def __init__(self, rng):
        self.rng = rng
        self.max_map_entries = 4

    def scalar(self, field):
        r = self.rng
        t = field.type
        FD = field.__class__
        if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
            return r.choice([0, 1, -1, 2**31 - 1, -2**31, r.randint(-2**31, 2**31 - 1), r.randint(-300, 300)])
        if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
            return r.choice([0, 1, -1, 2**63 - 1, -2**63, r.randint(-2**63, 2**63 - 1), r.randint(-300, 300)])
        if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
            return r.choice([0, 1, 2**32 - 1, r.randint(0, 2**32 - 1), r.randint(0, 300)])
        if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
            return r.choice([0, 1, 2**64 - 1, r.randint(0, 2**64 - 1), r.randint(0, 300)])
        if t == FD.TYPE_BOOL:
            return r.random() < 0.5
        if t == FD.TYPE_FLOAT:
            v = r.choice([0.0, -0.0, 1.5, float("inf"), float("-inf"), r.uniform(-1e30, 1e30)])
            return struct.unpack("<f", struct.pack("<f", v))[0]
        if t == FD.TYPE_DOUBLE:
            return r.choice([0.0, -0.0, 1e-300, float("inf"), float("-inf"), r.uniform(-1e300, 1e300), r.random()])
        if t == FD.TYPE_STRING:
            return "".join(self.char() for _ in range(r.choice([0, 1, 3, 10, 40])))
        if t == FD.TYPE_BYTES:
            return bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 5, 33])))
        if t == FD.TYPE_ENUM:
            values = [v.number for v in field.enum_type.values]
            if not field.enum_type.is_closed and r.random() < 0.1:
                return r.randint(-1000, 1000)  # unknown to the schema: an open enum keeps it
            return r.choice(values)
        raise ValueError(t)

    def char(self):
        r = self.rng
        bucket = r.random()
        if bucket < 0.6:
            return chr(r.randint(0x20, 0x7E))
        if bucket < 0.85:
            return chr(r.randint(0xA0, 0xD7FF))
        if bucket < 0.95:
            return chr(r.randint(0xE000, 0xFFFD))
        return chr(r.randint(0x10000, 0x10FFFF))

    def fill(self, msg, depth=0):
        r = self.rng
        desc = msg.DESCRIPTOR
        chosen_oneof = {}
        for oneof in desc.oneofs:
            if oneof.fields and r.random() < 0.5:
                chosen_oneof[oneof.name] = r.choice(oneof.fields).name
        for field in desc.fields:
            if field.containing_oneof is not None and not field.containing_oneof.name.startswith("_"):
                if chosen_oneof.get(field.containing_oneof.name) != field.name:
                    continue
            elif r.random() < 0.35:
                continue
            FD = field.__class__
            is_msg = field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key_f, val_f = field.message_type.fields
                target = getattr(msg, field.name)
                for _ in range(r.randint(0, self.max_map_entries)):
                    key = self.scalar(key_f)
                    if val_f.type == FD.TYPE_MESSAGE:
                        if depth < 3:
                            self.fill(target[key], depth + 1)
                    else:
                        target[key] = self.scalar(val_f)
            elif field.is_repeated:
                target = getattr(msg, field.name)
                for _ in range(r.randint(0, 5)):
                    if is_msg:
                        if depth < 3:
                            self.fill(target.add(), depth + 1)
                    else:
                        target.append(self.scalar(field))
            elif is_msg:
                if depth < 3 and field.message_type.full_name != "google.protobuf.Timestamp":
                    self.fill(getattr(msg, field.name), depth + 1)
                elif field.message_type.full_name == "google.protobuf.Timestamp":
                    ts = getattr(msg, field.name)
                    ts.seconds = r.randint(-62135596800, 253402300799)
                    ts.nanos = r.randint(0, 999999999)
            else:
                setattr(msg, field.name, self.scalar(field))

    def unknown_fields(self):
        """Valid wire-format fields at numbers no schema here uses."""
        r = self.rng
        out = bytearray()
        for _ in range(r.randint(1, 4)):
            number = r.randint(1000, 1100)
            kind = r.choice([0, 1, 2, 5])
            out += varint(number << 3 | kind)
            if kind == 0:
                out += varint(r.getrandbits(64))
            elif kind == 1:
                out += bytes(r.getrandbits(8) for _ in range(8))
            elif kind == 5:
                out += bytes(r.getrandbits(8) for _ in range(4))
            else:
                payload = bytes(r.getrandbits(8) for _ in range(r.randint(0, 12)))
                out += varint(len(payload)) + payload
        return bytes(out)


def has_multi_entry_map(msg):
    for field, value in msg.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if len(value) > 1:
                return True
            if len(value) == 1 and field.message_type.fields[1].message_type is not None:
                if any(has_multi_entry_map(v) for v in value.values()):
                    return True
        elif field.message_type is not None:
            items = value if field.is_repeated else [value]
            if any(has_multi_entry_map(v) for v in items):
                return True
    return False


def generate(args):
    classes = load_classes()
    rng = random.Random(args.seed)
    rand = Randomizer(rng)
    with open(args.out, "wb") as out:
        for i in range(args.count):
            kind = i % 2
            msg = classes[kind]()
            rand.max_map_entries = 1 if rng.random() < 0.5 else 4
            rand.fill(msg)
            data = msg.SerializeToString(deterministic=True)
            if rng.random() < 0.2:
                # Parse with unknown fields appended, so that the deterministic encoding
                # includes them exactly where Python writes them.
                msg = classes[kind].FromString(data + rand.unknown_fields())
                data = msg.SerializeToString(deterministic=True)
            if not has_multi_entry_map(msg):
                kind |= 0x80
            out.write(bytes([kind]) + varint(len(data)) + data)
    print(f"generated {args.count} cases")


def verify(args):
    classes = load_classes()
    cases = read_records(args.cases)
    results = read_records(args.results)
    if len(cases) != len(results):
        sys.exit(f"{len(cases)} cases but {len(results)} results")
    failures = 0
    for index, ((kind, original), (_, echoed)) in enumerate(zip(cases, results)):
        expected = classes[kind & 1].FromString(original)
        actual = classes[kind & 1].FromString(echoed)
        if expected != actual and not nan_equal(expected, actual):
            failures += 1
            if failures <= 5:
                print(f"case {index}: Python reads Sluice's encoding as a different message", file=sys.stderr)
    print(f"{len(cases) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


def nan_equal(a, b):
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True) and any(
        isinstance(v, float) and math.isnan(v) for _, v in a.ListFields())


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--count", type=int, default=10000)
    g.add_argument("--out", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--cases", required=True)
    v.add_argument("--results", required=True)
    args = parser.parse_args()
    {"generate": generate, "verify": verify}[args.command](args)


if __name__ == "__main__":
    main()
