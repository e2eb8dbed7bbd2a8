#!/usr/bin/env python3
"""Cross-checks Sluice's proto3 JSON mapping against Python protobuf's json_format, which
nobody here wrote.

  jsoncheck.py generate --seed S --count N --out CASES
      Writes N random messages, in turn of the proto3 and proto2 all-types schemas and of the
      well-known-types schema: each as deterministic binary, as json_format prints it with
      the default options, and as it prints it with every option set
      (always_print_fields_with_no_presence, preserving_proto_field_name,
      use_integers_for_enums).
  jsoncheck.py verify --cases CASES --results RESULTS
      Reads Sluice's two JSON printings of each case, parses them with json_format and checks
      each equals the original message.

Record format, both files: kind byte (0 = proto3 TestAllTypes, 1 = proto2, 2 =
TestWellKnownTypes), a count byte, then that many blobs, each a varint length and its bytes.
The Swift test in Tests/SluiceProtoTests/JSONCrossImplementationTests drives both steps.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crosscheck import ROOT, INCLUDE, Randomizer, varint  # noqa: E402

PROTOS = ["sluice/test/all_types_proto3.proto", "sluice/test/all_types_proto2.proto",
          "sluice/test/json_types.proto"]
TYPES = ["sluice.test.TestAllTypes", "sluice.test.proto2.TestAllTypesProto2",
         "sluice.test.json.TestWellKnownTypes"]
ALL_OPTIONS = dict(always_print_fields_with_no_presence=True, preserving_proto_field_name=True,
                   use_integers_for_enums=True)


def load_pool():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        subprocess.run(["protoc", f"--descriptor_set_out={out}", "--include_imports",
                        "-I", os.path.join(ROOT, "Protos"), "-I", INCLUDE] + PROTOS, check=True)
        fds = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    return pool


def cls(pool, name):
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


class WellKnownRandomizer(Randomizer):
    """Adds values of the well-known types, in the ranges their JSON forms allow."""

    def __init__(self, rng, pool):
        super().__init__(rng)
        self.pool = pool

    def scalar(self, field):
        if field.enum_type is not None and field.enum_type.full_name == "google.protobuf.NullValue":
            return 0  # JSON writes every NullValue as null, so another number cannot come back
        return super().scalar(field)

    def fill(self, msg, depth=0):
        name = msg.DESCRIPTOR.full_name
        special = {
            "google.protobuf.Timestamp": self.timestamp, "google.protobuf.Duration": self.duration,
            "google.protobuf.FieldMask": self.field_mask, "google.protobuf.Struct": self.struct,
            "google.protobuf.Value": self.value, "google.protobuf.ListValue": self.list_value,
            "google.protobuf.Any": self.any,
        }.get(name)
        if special:
            special(msg, depth)
        elif name.startswith("google.protobuf.") and name.endswith("Value"):
            msg.value = self.scalar(msg.DESCRIPTOR.fields_by_name["value"])
        else:
            super().fill(msg, depth)

    def timestamp(self, msg, depth):
        r = self.rng
        msg.seconds = r.choice([0, -62135596800, 253402300799, r.randint(-62135596800, 253402300799)])
        msg.nanos = r.choice([0, 0, r.randint(0, 999) * 1000000, r.randint(0, 999999) * 1000, r.randint(0, 999999999)])

    def duration(self, msg, depth):
        r = self.rng
        seconds = r.choice([0, 1, r.randint(0, 315576000000 - 1), r.randint(0, 1000)])
        nanos = r.choice([0, r.randint(0, 999) * 1000000, r.randint(0, 999999999)])
        sign = r.choice([1, -1])
        msg.seconds, msg.nanos = sign * seconds, sign * nanos

    def field_mask(self, msg, depth):
        r = self.rng

        def segment():
            word = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(1, 5)))
            if r.random() < 0.4:
                word += "_" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(1, 4)))
            return word
        for _ in range(r.randint(0, 4)):
            msg.paths.append(".".join(segment() for _ in range(r.randint(1, 3))))

    def json_number(self):
        r = self.rng
        return r.choice([0.0, 1.0, -1.5, 1e-7, 2.0 ** 53, float(r.randint(-10**6, 10**6)), r.uniform(-1e300, 1e300)])

    def value(self, msg, depth):
        r = self.rng
        kinds = ["null", "number", "string", "bool"] + (["struct", "list"] if depth < 3 else [])
        kind = r.choice(kinds)
        if kind == "null":
            msg.null_value = 0
        elif kind == "number":
            msg.number_value = self.json_number()
        elif kind == "string":
            msg.string_value = self.scalar(self.string_field())
        elif kind == "bool":
            msg.bool_value = r.random() < 0.5
        elif kind == "struct":
            msg.struct_value.SetInParent()  # an empty Struct is still the kind set
            self.struct(msg.struct_value, depth + 1)
        else:
            msg.list_value.SetInParent()
            self.list_value(msg.list_value, depth + 1)

    def string_field(self):
        return self.pool.FindMessageTypeByName("sluice.test.json.Inner").fields_by_name["name"]

    def struct(self, msg, depth):
        for _ in range(self.rng.randint(0, 3)):
            self.value(msg.fields[self.scalar(self.string_field())], depth + 1)

    def list_value(self, msg, depth):
        for _ in range(self.rng.randint(0, 3)):
            self.value(msg.values.add(), depth + 1)

    def any(self, msg, depth):
        r = self.rng
        held_name = r.choice(["sluice.test.json.Inner", "google.protobuf.Timestamp", "google.protobuf.Duration",
                              "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.Int64Value",
                              "google.protobuf.FieldMask", "google.protobuf.Empty"]
                             + (["google.protobuf.Any"] if depth < 2 else []))
        held = cls(self.pool, held_name)()
        if held_name == "google.protobuf.Value":
            self.value(held, depth + 1)
        elif held_name == "google.protobuf.Empty":
            pass
        else:
            self.fill(held, depth + 1)
        msg.type_url = "type.googleapis.com/" + held_name
        msg.value = held.SerializeToString(deterministic=True)


def write_record(out, kind, blobs):
    out.write(bytes([kind, len(blobs)]))
    for blob in blobs:
        out.write(varint(len(blob)) + blob)


def read_records(path):
    data = open(path, "rb").read()
    i = 0
    records = []
    while i < len(data):
        kind, count = data[i], data[i + 1]
        i += 2
        blobs = []
        for _ in range(count):
            n = shift = 0
            while True:
                b = data[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            blobs.append(data[i:i + n])
            i += n
        records.append((kind, blobs))
    return records


def generate(args):
    pool = load_pool()
    classes = [cls(pool, t) for t in TYPES]
    rng = random.Random(args.seed)
    rand = WellKnownRandomizer(rng, pool)
    with open(args.out, "wb") as out:
        for i in range(args.count):
            kind = i % 3
            msg = classes[kind]()
            rand.fill(msg)
            binary = msg.SerializeToString(deterministic=True)
            plain = json_format.MessageToJson(msg, descriptor_pool=pool, indent=None)
            everything = json_format.MessageToJson(msg, descriptor_pool=pool, indent=None, **ALL_OPTIONS)
            write_record(out, kind, [binary, plain.encode(), everything.encode()])
    print(f"generated {args.count} cases")


def verify(args):
    pool = load_pool()
    classes = [cls(pool, t) for t in TYPES]
    cases = read_records(args.cases)
    results = read_records(args.results)
    if len(cases) != len(results):
        sys.exit(f"{len(cases)} cases but {len(results)} results")
    failures = 0
    for index, ((kind, blobs), (_, printed)) in enumerate(zip(cases, results)):
        expected = classes[kind].FromString(blobs[0])
        for label, text in zip(["default options", "all options"], printed):
            try:
                actual = json_format.Parse(text.decode(), classes[kind](), descriptor_pool=pool)
                same = same_message(actual, expected, pool)
            except Exception as error:  # a parse error is a failure to report, not a crash
                same, actual = False, error
            if not same:
                failures += 1
                if failures <= 5:
                    print(f"case {index} ({label}): json_format reads Sluice's JSON as a different message: "
                          f"{text.decode()[:300]} -> {actual}", file=sys.stderr)
    print(f"{len(cases)} cases, {failures} failed")
    sys.exit(1 if failures else 0)


def same_message(a, b, pool):
    """Equal bytes, or (an Any holds bytes as their writer ordered map entries) equal JSON
    with sorted keys, which decodes what each Any holds."""
    if a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True):
        return True
    def printed(m):
        return json_format.MessageToJson(m, descriptor_pool=pool, sort_keys=True, **ALL_OPTIONS)
    return printed(a) == printed(b)


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
