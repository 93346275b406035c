"""An SSE plugin that is not SsePlugin: Python's grpcio (gRPC C-core), for the tests of `SsePlugin.Host call`.

Usage: /usr/bin/python3 python_plugin.py PORT STUBS_DIR

STUBS_DIR holds ServerSideExtension_pb2.py, made by `protoc --python_out`. It listens on 127.0.0.1:PORT in plaintext,
prints "listening" when it does, and serves until killed:
  Repeat(text STRING, times NUMERIC) -> STRING   the text times times; qlik-cache: no-store and a table description
  Tenfold(value DUAL) -> NUMERIC                  the dual's number times ten
  Refuse(value NUMERIC) -> NUMERIC                fails with INVALID_ARGUMENT and a message
"""
import sys
from concurrent import futures

import grpc

sys.path.insert(0, sys.argv[2])
import ServerSideExtension_pb2 as sse  # noqa: E402  (generated into STUBS_DIR at test time)


def function(function_id, name, return_type, params):
    return sse.FunctionDefinition(
        name=name, functionId=function_id, functionType=sse.SCALAR, returnType=return_type,
        params=[sse.Parameter(name=n, dataType=t) for n, t in params])


CAPABILITIES = sse.Capabilities(
    pluginIdentifier="python-plugin", pluginVersion="1.0", allowScript=False,
    functions=[
        function(0, "Repeat", sse.STRING, [("text", sse.STRING), ("times", sse.NUMERIC)]),
        function(1, "Tenfold", sse.NUMERIC, [("value", sse.DUAL)]),
        function(2, "Refuse", sse.NUMERIC, [("value", sse.NUMERIC)]),
    ])


def get_capabilities(request, context):
    return CAPABILITIES


def execute_function(requests, context):
    headers = dict(context.invocation_metadata())
    function_id = sse.FunctionRequestHeader.FromString(headers["qlik-functionrequestheader-bin"]).functionId
    if function_id == 2:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Refuse refuses every value.")
    if function_id == 0:
        table = sse.TableDescription(name="Repeated", numberOfRows=-1,
                                     fields=[sse.FieldDescription(name="Repeated", dataType=sse.STRING)])
        context.send_initial_metadata((("qlik-cache", "no-store"),
                                       ("qlik-tabledescription-bin", table.SerializeToString())))
    for bundle in requests:
        rows = []
        for row in bundle.rows:
            if function_id == 0:
                text, times = row.duals
                rows.append(sse.Row(duals=[sse.Dual(strData=text.strData * int(times.numData))]))
            else:
                rows.append(sse.Row(duals=[sse.Dual(numData=row.duals[0].numData * 10)]))
        yield sse.BundledRows(rows=rows)


def main():
    handler = grpc.method_handlers_generic_handler("qlik.sse.Connector", {
        "GetCapabilities": grpc.unary_unary_rpc_method_handler(
            get_capabilities, sse.Empty.FromString, sse.Capabilities.SerializeToString),
        "ExecuteFunction": grpc.stream_stream_rpc_method_handler(
            execute_function, sse.BundledRows.FromString, sse.BundledRows.SerializeToString),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
