#!/usr/bin/env python3
"""A tiny grpc_health_probe: asks grpc.health.v1.Health/Check and exits 0 only on SERVING.

    grpc_health_check.py [--addr 127.0.0.1:50051] [--service attnserve.v1.Inference] [--timeout 2]

Used by the container HEALTHCHECK (deploy/docker/Dockerfile) and the deploy tests. Needs only the
grpcio package: the two health messages are encoded by hand (HealthCheckRequest{string service = 1},
HealthCheckResponse{ServingStatus status = 1}), so no generated stubs or protobuf runtime.
Exit codes: 0 SERVING, 1 any other status, 2 the call failed (not listening, timeout, ...).
"""

import argparse
import sys

import grpc

STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _encode_request(service: str) -> bytes:
    data = service.encode()
    if not data:
        return b""
    length = len(data)
    varint = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return b"\x0a" + bytes(varint) + data  # field 1, wire type 2 (length-delimited)


def _decode_status(data: bytes) -> int:
    # The response holds at most field 1 as a varint (tag 0x08); absent means UNKNOWN (0).
    if len(data) >= 2 and data[0] == 0x08:
        return data[1] & 0x7F
    return 0


def check(addr: str, service: str = "", timeout: float = 2.0) -> str:
    """Returns the serving status name; raises grpc.RpcError when the call fails."""
    with grpc.insecure_channel(addr) as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                   request_serializer=_encode_request,
                                   response_deserializer=_decode_status)
        return STATUS_NAMES.get(call(service, timeout=timeout), "UNKNOWN")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:50051")
    parser.add_argument("--service", default="attnserve.v1.Inference",
                        help='service name to ask about ("" = the whole server)')
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds")
    args = parser.parse_args()
    try:
        status = check(args.addr, args.service, args.timeout)
    except grpc.RpcError as e:
        print(f"health check of {args.addr} failed: {e.code().name}", file=sys.stderr)
        return 2
    print(status)
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
