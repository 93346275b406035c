"""An SSE client that calls the plugin the way Qlik's engine (a gRPC C-core client) does.

Usage: /usr/bin/python3 qlik_client.py HOST:PORT STUBS_DIR [--certs DIR | --root FILE] < calls.json > results.json

STUBS_DIR holds ServerSideExtension_pb2.py, made by `protoc --python_out`. Without options the channel is plaintext.
--certs DIR connects with mutual TLS as Qlik does, reading Qlik's file names from DIR (root_cert.pem,
sse_client_cert.pem, sse_client_key.pem); --root FILE uses TLS trusting that root but presents no client certificate. stdin holds a JSON list of calls, made in
order on one channel; stdout gets a JSON list with one result per call. A call is one of
  {"method": "GetCapabilities"}
  {"method": "ExecuteFunction", "function": NAME, "bundles": BUNDLES}  (the id is looked up in GetCapabilities)
  {"method": "ExecuteFunction", "functionId": ID, "functionHeader": false, "bundles": BUNDLES}
  {"method": "EvaluateScript", "script": TEXT, "functionType": "SCALAR", "returnType": "NUMERIC",
   "params": [{"name": NAME, "dataType": "NUMERIC"}, ...], "bundles": BUNDLES}
BUNDLES is a list of BundledRows, each a list of rows, each a list of duals {"num": NUMBER or "NaN", "str": TEXT}
(either or both). The request headers are serialized messages in binary (-bin) metadata, as Qlik sends them.
A result holds the status code name and details, the initial and trailing metadata (-bin values in base64), the
rows, and the decoded capabilities or qlik-tabledescription-bin header where there is one.
"""
import argparse
import base64
import json
import math
import os
import sys

import grpc

ARGS = argparse.ArgumentParser(description="Calls an SSE plugin as Qlik's engine does.")
ARGS.add_argument("target")
ARGS.add_argument("stubs")
ARGS.add_argument("--certs", help="Qlik's certificate folder: root_cert.pem, sse_client_cert.pem, sse_client_key.pem")
ARGS.add_argument("--root", help="a root certificate to trust, with no client certificate")
OPTIONS = ARGS.parse_args()

sys.path.insert(0, OPTIONS.stubs)
import ServerSideExtension_pb2 as sse  # noqa: E402  (generated into STUBS_DIR at test time)

SERVICE = "/qlik.sse.Connector/"
TABLE_HEADER = "qlik-tabledescription-bin"


def number(value):
    """A double as JSON; NaN and the infinities as the strings .NET's JSON reader accepts."""
    if math.isnan(value):
        return "NaN"
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def metadata(pairs):
    return {key: base64.b64encode(value).decode() if key.endswith("-bin") else value for key, value in pairs or ()}


def parameters(params):
    return [{"name": p.name, "dataType": sse.DataType.Name(p.dataType)} for p in params]


def capabilities(c):
    return {
        "allowScript": c.allowScript,
        "pluginIdentifier": c.pluginIdentifier,
        "pluginVersion": c.pluginVersion,
        "functions": [{
            "functionId": f.functionId,
            "name": f.name,
            "functionType": sse.FunctionType.Name(f.functionType),
            "returnType": sse.DataType.Name(f.returnType),
            "params": parameters(f.params),
        } for f in c.functions],
    }


def table_description(pairs):
    raw = dict(pairs or ()).get(TABLE_HEADER)
    if raw is None:
        return None
    table = sse.TableDescription.FromString(raw)
    fields = [{"name": f.name, "dataType": sse.DataType.Name(f.dataType), "tags": list(f.tags)} for f in table.fields]
    return {"name": table.name, "numberOfRows": table.numberOfRows, "fields": fields}


def bundle(rows):
    return sse.BundledRows(rows=[sse.Row(duals=[
        sse.Dual(numData=float(d.get("num", 0)), strData=d.get("str", "")) for d in row]) for row in rows])


def status(call, **result):
    return {"code": call.code().name, "details": call.details() or "", **result}


class Client:
    def __init__(self, channel):
        self.channel = channel
        self.ids = None

    def get_capabilities(self):
        stub = self.channel.unary_unary(SERVICE + "GetCapabilities",
                                        request_serializer=sse.Empty.SerializeToString,
                                        response_deserializer=sse.Capabilities.FromString)
        try:
            answer, call = stub.with_call(sse.Empty())
        except grpc.RpcError as error:
            return status(error)
        self.ids = {f.name: f.functionId for f in answer.functions}
        return status(call, capabilities=capabilities(answer))

    def function_id(self, name):
        if self.ids is None and self.get_capabilities()["code"] != "OK":
            sys.exit("GetCapabilities failed, so function ids cannot be looked up by name")
        return self.ids[name]

    def stream(self, method, headers, bundles):
        stub = self.channel.stream_stream(SERVICE + method,
                                          request_serializer=sse.BundledRows.SerializeToString,
                                          response_deserializer=sse.BundledRows.FromString)
        common = sse.CommonRequestHeader(appId="interop-app", userId="UserDirectory=INTEROP; UserId=qlik",
                                         cardinality=sum(len(b) for b in bundles))
        headers = headers + [("qlik-commonrequestheader-bin", common.SerializeToString())]
        call = stub((bundle(b) for b in bundles), metadata=headers)
        rows = []
        try:
            for answer in call:
                rows += [[{"num": number(d.numData), "str": d.strData} for d in row.duals] for row in answer.rows]
        except grpc.RpcError:
            pass  # the status is read from the call below
        initial = call.initial_metadata()
        return status(call, rows=rows, initialMetadata=metadata(initial),
                      trailingMetadata=metadata(call.trailing_metadata()), tableDescription=table_description(initial))

    def execute_function(self, spec):
        headers = []
        if spec.get("functionHeader", True):
            function_id = spec["functionId"] if "functionId" in spec else self.function_id(spec["function"])
            headers.append(("qlik-functionrequestheader-bin",
                            sse.FunctionRequestHeader(functionId=function_id, version="1").SerializeToString()))
        for extra in spec.get("extraFunctionIds") or []:  # the header again, as a field of its own (id 0: no bytes)
            headers.append(("qlik-functionrequestheader-bin", sse.FunctionRequestHeader(functionId=extra).SerializeToString()))
        return self.stream("ExecuteFunction", headers, spec["bundles"])

    def evaluate_script(self, spec):
        header = sse.ScriptRequestHeader(
            script=spec["script"],
            functionType=sse.FunctionType.Value(spec["functionType"]),
            returnType=sse.DataType.Value(spec["returnType"]),
            params=[sse.Parameter(name=p["name"], dataType=sse.DataType.Value(p["dataType"])) for p in spec["params"]])
        return self.stream("EvaluateScript", [("qlik-scriptrequestheader-bin", header.SerializeToString())],
                           spec["bundles"])


def read(path):
    with open(path, "rb") as file:
        return file.read()


def open_channel():
    """A channel as Qlik's engine opens one: plaintext, or TLS with the files of its certificate folder."""
    if OPTIONS.certs:
        credentials = grpc.ssl_channel_credentials(read(os.path.join(OPTIONS.certs, "root_cert.pem")),
                                                   read(os.path.join(OPTIONS.certs, "sse_client_key.pem")),
                                                   read(os.path.join(OPTIONS.certs, "sse_client_cert.pem")))
    elif OPTIONS.root:
        credentials = grpc.ssl_channel_credentials(read(OPTIONS.root))
    else:
        return grpc.insecure_channel(OPTIONS.target)
    return grpc.secure_channel(OPTIONS.target, credentials)


def main():
    calls = json.load(sys.stdin)
    with open_channel() as channel:
        client = Client(channel)
        run = {"GetCapabilities": lambda _: client.get_capabilities(),
               "ExecuteFunction": client.execute_function,
               "EvaluateScript": client.evaluate_script}
        results = [run[spec["method"]](spec) for spec in calls]
    sys.stdout.write(json.dumps(results, allow_nan=False))  # dumps, unlike dump, uses the C encoder


if __name__ == "__main__":
    main()
