"""Early-failing calls interleaved with valid ones on ONE channel, as Qlik's engine makes every call on one connection.

Usage: /usr/bin/python3 early_failures.py HOST:PORT STUBS_DIR CALLS > result.json

Makes CALLS calls, a few dozen at a time, over one plaintext channel (one HTTP/2 connection): every other call fails
at once on the plugin's side (an unknown function id, an unreadable function header, a first row of the wrong width)
while its client still has rows to send, and the others are valid SumOfRows calls. Prints a JSON object: how many calls
of each kind were made, the valid calls that failed (status and details), and the failing calls whose status was not
the intended one.
"""
import asyncio
import json
import sys

import grpc

TARGET, STUBS, CALLS = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, STUBS)
import ServerSideExtension_pb2 as sse  # noqa: E402  (generated into STUBS_DIR at test time)

SUM_OF_ROWS = 5
IN_FLIGHT = 32
BUNDLES = 4
ROWS = 50


def bundle(width, first):
    return sse.BundledRows(rows=[sse.Row(duals=[sse.Dual(numData=first + i)] * width) for i in range(ROWS)])


def headers(function_header):
    common = sse.CommonRequestHeader(appId="interop-app", userId="qlik", cardinality=BUNDLES * ROWS)
    return (("qlik-functionrequestheader-bin", function_header),
            ("qlik-commonrequestheader-bin", common.SerializeToString()))


def function_header(function_id):
    return sse.FunctionRequestHeader(functionId=function_id, version="1").SerializeToString()


# name: (function header, width of the first bundle's rows, intended status)
FAILURES = [
    ("unknown function id", function_header(999999), 2, grpc.StatusCode.NOT_FOUND),
    ("unreadable function header", b"\xff\x00\xfe\x80", 2, grpc.StatusCode.INVALID_ARGUMENT),
    ("row of the wrong width", function_header(SUM_OF_ROWS), 3, grpc.StatusCode.INVALID_ARGUMENT),
]


async def call(stub, header, first_width):
    requests = [bundle(first_width if b == 0 else 2, b * ROWS) for b in range(BUNDLES)]
    answer = stub(iter(requests), metadata=headers(header))
    rows = []
    try:
        async for message in answer:
            rows += [row.duals[0].numData for row in message.rows]
    except grpc.RpcError:
        pass  # the status is read from the call below
    return await answer.code(), await answer.details(), rows


async def main():
    counts = {"valid": 0, **{name: 0 for name, *_ in FAILURES}}
    valid_failed, wrong_status = [], []
    expected_sums = [2.0 * i for i in range(BUNDLES * ROWS)]
    limit = asyncio.Semaphore(IN_FLIGHT)
    async with grpc.aio.insecure_channel(TARGET) as channel:
        stub = channel.stream_stream("/qlik.sse.Connector/ExecuteFunction",
                                     request_serializer=sse.BundledRows.SerializeToString,
                                     response_deserializer=sse.BundledRows.FromString)

        async def one(index):
            async with limit:
                if index % 2 == 0:
                    code, details, rows = await call(stub, function_header(SUM_OF_ROWS), 2)
                    counts["valid"] += 1
                    if code != grpc.StatusCode.OK or rows != expected_sums:
                        valid_failed.append({"code": code.name, "details": details, "rows": len(rows)})
                else:
                    name, header, width, intended = FAILURES[(index // 2) % len(FAILURES)]
                    code, details, _ = await call(stub, header, width)
                    counts[name] += 1
                    if code != intended:
                        wrong_status.append({"kind": name, "code": code.name, "details": details})

        await asyncio.gather(*(one(i) for i in range(CALLS)))
    json.dump({"counts": counts, "validFailed": valid_failed[:20], "validFailedCount": len(valid_failed),
               "wrongStatus": wrong_status[:20], "wrongStatusCount": len(wrong_status)}, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
